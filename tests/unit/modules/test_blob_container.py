"""v7_blob_container: read -> create / delete-if-marked, over an in-memory storage account (no network)."""
from __future__ import annotations

import pytest

from fakes import ACCOUNT, FILE_STORAGE_REFUSAL, FakeAccount, account_body, api_error, container_body, fake_module

from ansible_collections.v7labs.azure_storage.plugins.module_utils import v7
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError, InputError
from ansible_collections.v7labs.azure_storage.plugins.module_utils.resources import NotFound
from ansible_collections.v7labs.azure_storage.plugins.modules import v7_blob_container as module

MARKER = dict(v7.CREATED_BY)
IMAGES_ID = container_body("images")["id"]


def run(account, *, check=False, diff=True, **params):
    params.setdefault("name", "images")
    mod = fake_module(module.ARGUMENT_SPEC, check=check, diff=diff, **params)
    return module.run(mod, account), mod


# ---------------------------------------------------------------- state=present


@pytest.mark.parametrize("check", [False, True], ids=["apply", "check"])
@pytest.mark.parametrize(
    ("existing", "metadata", "changed", "writes"),
    [
        ([], {}, True, [("create_container", "images", {})]),
        ([], MARKER, True, [("create_container", "images", MARKER)]),
        ([container_body("images")], MARKER, False, []),
        ([container_body("images", {"owner": "data-team"})], MARKER, False, []),  # never changed
        ([container_body("photos")], {}, True, [("create_container", "images", {})]),
    ],
)
def test_present(existing, metadata, changed, writes, check):
    account = FakeAccount(account_body(), containers=existing)
    result, mod = run(account, check=check, metadata=metadata)
    container = {"name": "images", "id": IMAGES_ID}
    assert result["changed"] is changed
    assert result["container"] == container
    assert result["diff"] == {"before": {"container": None if changed else container}, "after": {"container": container}}
    assert account.writes == ([] if check else writes)
    assert ("images" in account.containers) is (not changed or not check)
    assert mod.warnings == []


def test_present_is_idempotent_and_keeps_the_marker():
    account = FakeAccount(account_body())
    first, _module = run(account, metadata=MARKER)
    second, _module = run(account, metadata=MARKER)
    assert (first["changed"], second["changed"]) == (True, False)
    assert account.containers["images"]["metadata"] == MARKER
    assert len(account.writes) == 1


def test_created_meanwhile_by_another_run_is_not_a_change():
    """Azure answers 200, not 201, when the container appeared between the read and the create."""
    account = FakeAccount(account_body())

    def other_run(name, metadata):
        account.containers[name] = container_body(name)

    account.fail["create_container"] = other_run
    result, _module = run(account)
    assert result["changed"] is False and result["container"]["id"] == IMAGES_ID


def test_created_meanwhile_shows_no_change_in_the_diff():
    account = FakeAccount(account_body())
    account.fail["create_container"] = lambda name, metadata: account.containers.update({name: container_body(name)})
    result, _module = run(account)
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]


def test_no_diff_without_diff_mode():
    result, _module = run(FakeAccount(account_body()), diff=False)
    assert "diff" not in result and result["changed"] is True


# ---------------------------------------------------------------- state=absent with the marker

NOT_OURS = {"owner": "data-team"}


@pytest.mark.parametrize("check", [False, True], ids=["apply", "check"])
@pytest.mark.parametrize(
    ("existing", "marker", "marked"),
    [
        (container_body("images", MARKER), MARKER, True),
        (container_body("images", {"CreatedBy": "v7labs.azure_storage", "x": "1"}), MARKER, True),  # names in any case
        ({"name": "images", "id": IMAGES_ID, "properties": {"metadata": MARKER}}, MARKER, True),  # ARM's nested shape
        (container_body("images", {"createdby": "V7LABS.AZURE_STORAGE"}), MARKER, False),  # values exact
        (container_body("images", NOT_OURS), MARKER, False),
        (container_body("images"), MARKER, False),
        (container_body("images", MARKER), dict(MARKER, run="42"), False),  # every pair of the marker
        (None, MARKER, False),
    ],
)
def test_absent_deletes_only_a_marked_container(existing, marker, marked, check):
    account = FakeAccount(account_body(), containers=[existing] if existing else [])
    result, mod = run(account, check=check, state="absent", metadata=marker)
    found = None if existing is None else {
        "name": "images", "id": IMAGES_ID,
        "metadata": existing.get("metadata") or existing.get("properties", {}).get("metadata") or {}}
    assert result["changed"] is marked and result["marked"] is marked
    assert result["container"] == found
    assert result["diff"] == {"before": {"container": found}, "after": {"container": None if marked else found}}
    assert account.writes == ([("delete_container", "images")] if marked and not check else [])
    assert ("images" in account.containers) is (existing is not None and (check or not marked))
    assert mod.warnings == []


def test_absent_after_present_round_trip_with_v7s_marker():
    account = FakeAccount(account_body(), containers=[container_body("photos", NOT_OURS)])
    run(account, metadata=MARKER)
    removed, _module = run(account, state="absent", metadata=MARKER)
    kept, _module = run(account, name="photos", state="absent", metadata=MARKER)
    assert removed["changed"] is True and kept["changed"] is False
    assert account.writes == [("create_container", "images", MARKER), ("delete_container", "images")]
    assert list(account.containers) == ["photos"]


# ---------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("params", "options"),
    [
        ({"state": "absent"}, ["metadata"]),
        ({"name": "Images"}, ["name"]),
        ({"name": "ab"}, ["name"]),
        ({"name": "a--b"}, ["name"]),
        ({"name": "images-"}, ["name"]),
        ({"name": "x", "storage_account": "acme_1", "state": "absent"}, ["storage_account", "name", "metadata"]),
    ],
)
def test_bad_options_are_named_before_any_request(params, options):
    account = FakeAccount(account_body(), containers=[container_body("images", MARKER)])
    with pytest.raises(InputError) as caught:
        run(account, **params)
    assert [p.split(":")[0] for p in caught.value.problems] == options
    assert "Nothing was sent to Azure" in str(caught.value)
    assert account.calls == [] and "images" in account.containers


@pytest.mark.parametrize("state", ["present", "absent"])
def test_missing_account_fails_naming_it(state):
    account = FakeAccount(None)
    with pytest.raises(NotFound) as caught:
        run(account, state=state, metadata=MARKER)
    assert caught.value.kind == "account"
    assert f"The storage account {ACCOUNT} was not found" in str(caught.value)
    assert "storage_account, resource_group and subscription_id" in str(caught.value)
    assert account.writes == []


@pytest.mark.parametrize("state", ["present", "absent"])
def test_file_storage_account_has_no_blob_service(state):
    account = FakeAccount(account_body("FileStorage", "Premium_LRS"))
    with pytest.raises(AzureApiError) as caught:
        run(account, state=state, metadata=MARKER)
    assert caught.value.code == "FeatureNotSupportedForAccount"
    assert str(caught.value) == FILE_STORAGE_REFUSAL
    assert account.reads == ["read"] and account.writes == []


@pytest.mark.parametrize(
    ("state", "method", "existing"),
    [("present", "create_container", []), ("absent", "delete_container", [container_body("images", MARKER)])],
)
def test_write_refused_by_azure_is_raised_as_is(state, method, existing):
    refused = api_error("AuthorizationFailed", 403)
    account = FakeAccount(account_body(), containers=existing, fail={method: refused})
    with pytest.raises(AzureApiError) as caught:
        run(account, state=state, metadata=MARKER)
    assert caught.value is refused and account.writes == []


# ---------------------------------------------------------------- V7's facts


def test_argument_spec_holds_no_v7_marker_by_default():
    """The only V7 fact this module meets is the marker (v7.CREATED_BY); the role passes it. The
    module does not default to it, so that state=absent never deletes without being told what marks
    V7's containers."""
    assert module.ARGUMENT_SPEC["metadata"]["default"] == {}
    assert module.ARGUMENT_SPEC["state"]["default"] == "present"
    assert v7.CREATED_BY == {"createdby": "v7labs.azure_storage"}
    assert module.carries(container_body("images", v7.CREATED_BY)["metadata"], v7.CREATED_BY)
