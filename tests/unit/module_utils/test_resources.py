"""The resource layer over a fake SDK: a missing subscription, resource group, storage account or
container reads the same wherever Azure says so, on reads and on writes alike."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.core.exceptions import ARMErrorFormat

from ansible_collections.v7labs.azure_storage.plugins.module_utils import role_assignments as ra
from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError
from ansible_collections.v7labs.azure_storage.plugins.module_utils.resources import (
    NotFound, StorageAccount, missing_message, require_blob_service)

SUB = "00000000-0000-0000-0000-000000000001"
RG = "rg-data"
ACCOUNT = "acme1"
PRINCIPAL = "5f3c8a1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b"
SCOPE = ra.account_scope(SUB, RG, ACCOUNT)


class _Response:
    """The part of an azure-core response that HttpResponseError reads."""

    def __init__(self, status: int, code: str) -> None:
        self.status_code = status
        self.reason = "Not Found"
        self._body = json.dumps({"error": {"code": code, "message": f"{code} says ARM."}})
        self.headers = {"content-type": "application/json"}
        self.content_type = "application/json"
        self.request = None

    def text(self, encoding=None):  # pylint: disable=unused-argument
        return self._body

    def body(self):
        return self._body.encode()


class Refusing:
    """Every operation of an SDK client (any attribute path, called) raises ARM's error."""

    def __init__(self, status: int, code: str) -> None:
        self.status, self.code = status, code
        self.calls = 0

    def __getattr__(self, _name):
        return self

    def __call__(self, *_args, **_kwargs):
        self.calls += 1
        raise HttpResponseError(response=_Response(self.status, self.code), error_format=ARMErrorFormat)


def account_over(client: Refusing) -> StorageAccount:
    return StorageAccount(client, lambda: client, SUB, RG, ACCOUNT, sleep=lambda _s: None)


# Every method of StorageAccount that sends, and how to call it.
CALLS = {
    "read": lambda a: a.read(),
    "require": lambda a: a.require(),
    "permissions": lambda a: a.permissions(),
    "cors_rules": lambda a: a.cors_rules(),
    "set_cors_rules": lambda a: a.set_cors_rules([]),
    "container": lambda a: a.container("images"),
    "create_container": lambda a: a.create_container("images"),
    "delete_container": lambda a: a.delete_container("images"),
    "assignments": lambda a: a.assignments(PRINCIPAL),
    "create_assignment": lambda a: a.create_assignment(SCOPE, v7.READER, PRINCIPAL, 0),
    "delete_assignment": lambda a: a.delete_assignment(ra.Assignment(SCOPE, ra.role_definition_id(SUB, v7.READER),
                                                                     PRINCIPAL, f"{SCOPE}/providers/x/ra-1")),
}
MISSING = {
    "SubscriptionNotFound": "subscription",
    "ResourceGroupNotFound": "resource_group",
    "ResourceNotFound": "account",
    "StorageAccountNotFound": "account",
    "ParentResourceNotFound": "account",
}


def said(kind: str, containers=()) -> str:
    return missing_message(kind, subscription=SUB, group=RG, account=ACCOUNT, containers=containers)


@pytest.mark.parametrize("code", sorted(MISSING))
@pytest.mark.parametrize("method", sorted(CALLS))
def test_a_missing_scope_reads_the_same_on_every_read_and_write(method, code):
    kind = MISSING[code]
    client = Refusing(404, code)
    if method == "read" and kind == "account":
        assert CALLS[method](account_over(client)) is None  # the one read where a missing account is an answer
        return
    with pytest.raises(NotFound) as caught:
        CALLS[method](account_over(client))
    assert (caught.value.kind, caught.value.status) == (kind, 404)
    assert caught.value.code == code or (method, caught.value.code) == ("require", "ResourceNotFound")
    assert str(caught.value) == said(kind)
    assert client.calls == 1


@pytest.mark.parametrize("method", ["create_container", "delete_container"])
def test_a_missing_container_on_a_write_names_it(method):
    with pytest.raises(NotFound) as caught:
        CALLS[method](account_over(Refusing(404, "ContainerNotFound")))
    assert str(caught.value) == said("container", ["images"])
    assert str(caught.value) == (f"Containers not found in storage account {ACCOUNT}: images. Create them, or "
                                 "correct their names (containers).")


def test_a_missing_container_on_a_read_is_none():
    assert account_over(Refusing(404, "ContainerNotFound")).container("images") is None


@pytest.mark.parametrize("method", sorted(CALLS))
def test_other_failures_keep_azures_own_words(method):
    with pytest.raises(AzureApiError) as caught:
        CALLS[method](account_over(Refusing(403, "AuthorizationFailed")))
    assert not isinstance(caught.value, NotFound)
    assert caught.value.code == "AuthorizationFailed" and str(caught.value).startswith("Failed to ")
    assert "AuthorizationFailed says ARM." in str(caught.value)


def test_messages_name_what_to_check():
    assert said("subscription") == (f"The subscription {SUB} was not found, or the signed-in identity cannot see "
                                    "it: check subscription_id.")
    assert said("resource_group") == (f"The resource group {RG} was not found in subscription {SUB}: check "
                                      "resource_group and subscription_id.")
    assert said("account") == (f"The storage account {ACCOUNT} was not found in resource group {RG} (subscription "
                               f"{SUB}): check storage_account, resource_group and subscription_id.")


# ---------------------------------------------------------------- accounts V7 cannot use


def with_body(kind: str, sku: str) -> SimpleNamespace:
    return SimpleNamespace(name=ACCOUNT, require=lambda: {"kind": kind, "sku": {"name": sku, "tier": sku.split("_")[0]}})


@pytest.mark.parametrize("cors", [False, True])
def test_a_file_storage_account_is_refused_in_one_wording(cors):
    with pytest.raises(AzureApiError) as caught:
        require_blob_service(with_body("FileStorage", "Premium_LRS"), cors=cors)
    assert caught.value.code == "FeatureNotSupportedForAccount"
    assert str(caught.value) == (
        "Storage account acme1 cannot be used by V7: kind FileStorage (sku Premium_LRS) has no Blob service. V7 needs "
        "an account with a Blob service that supports CORS: general-purpose v2 (StorageV2) with a Standard SKU, "
        "BlockBlobStorage or BlobStorage.")


def test_a_premium_general_purpose_account_holds_containers_but_no_cors():
    account = with_body("StorageV2", "Premium_LRS")
    assert require_blob_service(account)["kind"] == "StorageV2"
    with pytest.raises(AzureApiError) as caught:
        require_blob_service(account, cors=True)
    assert str(caught.value) == (
        "Storage account acme1 cannot be used by V7: kind StorageV2 with premium sku Premium_LRS holds page blobs only "
        "and Azure does not support CORS on it. V7 needs an account with a Blob service that supports CORS: "
        "general-purpose v2 (StorageV2) with a Standard SKU, BlockBlobStorage or BlobStorage.")


def test_a_missing_account_is_not_found_before_its_kind():
    with pytest.raises(NotFound) as caught:
        require_blob_service(account_over(Refusing(404, "ResourceNotFound")), cors=True)
    assert str(caught.value) == said("account")
