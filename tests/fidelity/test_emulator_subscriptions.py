"""Microsoft.Resources subscriptions and tenants as the emulator serves them (issue 15, gap 3).

Every reply is validated by the `emulator` fixture against Microsoft.Resources'
subscriptions.json (2022-12-01) in tests/fidelity/reference; the departures of live ARM from that
spec are listed in spec_check.py."""
from __future__ import annotations

import copy

import pytest
import yaml

from tests.conftest import AUDITOR, CONTOSO, DEFAULT_STATE, OPERATOR, SUBSCRIPTION

from .conftest import Client, account_path
from .swagger import SpecIndex

API = "2022-12-01"
OTHER_SUB = "33333333-3333-4333-8333-333333333333"
FABRIKAM = "44444444-4444-4444-8444-444444444444"
FABRIKAM_SUB = "55555555-5555-4555-8555-555555555555"
RG_READER = {
    "client_id": "aaaaaaaa-0000-4000-8000-000000000003",
    "object_id": "aaaaaaaa-0000-4000-8000-0000000000a3",
    "secret": "Em9-rg-reader-Secret.contoso~0003",
}
NOBODY = {
    "client_id": "aaaaaaaa-0000-4000-8000-000000000004",
    "object_id": "aaaaaaaa-0000-4000-8000-0000000000a4",
    "secret": "Em9-nobody-Secret.contoso~0004",
}
V7_SP = "bbbbbbbb-0000-4000-8000-0000000000b7"
CONTAINER_SCOPE = account_path() + "/blobServices/default/containers/images"


@pytest.fixture
def world(emulator):
    """The default world plus: a second subscription (disabled) of Contoso that only the operator
    holds a role on, an identity with Reader on one resource group only, one with no role, V7's
    service principal with a container-scope assignment, and a second tenant with its own
    subscription."""
    with open(DEFAULT_STATE, encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    contoso = doc["tenants"][0]
    for ident, name in ((RG_READER, "rg-reader"), (NOBODY, "nobody")):
        contoso["identities"].append({**copy.deepcopy(ident), "display_name": name})
    contoso["service_principals"] = [{"app_id": "95e63529-38cc-435c-b247-32a1d62f321d", "object_id": V7_SP}]
    contoso["subscriptions"].append(
        {"id": OTHER_SUB, "display_name": "contoso-archive", "state": "Disabled", "tags": {"costCenter": "42"},
         "resource_groups": [{"name": "rg-old", "storage_accounts": [{"name": "contosoold"}]}]}
    )
    contoso["role_assignments"] += [
        {"scope": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-data", "role": "Reader", "principal_id": RG_READER["object_id"]},
        {"scope": f"/subscriptions/{OTHER_SUB}", "role": "Owner", "principal_id": OPERATOR["object_id"]},
        {"scope": CONTAINER_SCOPE, "role": "Storage Blob Data Reader", "principal_id": V7_SP},
    ]
    doc["tenants"].append(
        {"id": FABRIKAM, "display_name": "Fabrikam", "subscriptions": [{"id": FABRIKAM_SUB, "display_name": "fabrikam-prod"}]}
    )
    emulator.load_state(doc)
    return emulator


def _ids(reply) -> list[str]:
    assert reply.status_code == 200, reply.text
    return sorted(s["subscriptionId"] for s in reply.json()["value"])


def test_the_spec_index_knows_the_subscriptions_operations():
    index = SpecIndex.load()
    base = "https://management.azure.com"
    assert index.find("GET", f"{base}/subscriptions?api-version={API}").operation_id == "Subscriptions_List"
    assert index.find("GET", f"{base}/subscriptions/{SUBSCRIPTION}?api-version={API}").operation_id == "Subscriptions_Get"
    assert index.find("GET", f"{base}/tenants?api-version={API}").operation_id == "Tenants_List"
    # a provider's own path is not taken for Microsoft.Resources' subscription
    assert index.find("GET", f"{base}{account_path()}?api-version={API}").operation_id == "StorageAccounts_GetProperties"


def test_list_subscriptions_the_way_arm_answers(world, arm):
    reply = arm.call("GET", "/subscriptions", api_version=API)
    assert reply.status_code == 200
    body = reply.json()
    assert body["count"] == {"type": "Total", "value": 2}
    assert "nextLink" not in body
    by_id = {s["subscriptionId"]: s for s in body["value"]}
    assert by_id[SUBSCRIPTION] == {
        "id": f"/subscriptions/{SUBSCRIPTION}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "tags": {},
        "subscriptionId": SUBSCRIPTION,
        "tenantId": CONTOSO,
        "displayName": "contoso-data",
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
    }
    assert (by_id[OTHER_SUB]["state"], by_id[OTHER_SUB]["tags"]) == ("Disabled", {"costCenter": "42"})


def test_each_caller_sees_only_the_subscriptions_it_holds_a_role_on(world):
    assert _ids(Client(world, AUDITOR).call("GET", "/subscriptions", api_version=API)) == [SUBSCRIPTION]
    # a role on one resource group is enough to see its subscription
    assert _ids(Client(world, RG_READER).call("GET", "/subscriptions", api_version=API)) == [SUBSCRIPTION]
    nobody = Client(world, NOBODY).call("GET", "/subscriptions", api_version=API)
    assert nobody.json() == {"value": [], "count": {"type": "Total", "value": 0}}


def test_get_one_subscription_and_arm_errors(world, arm):
    reply = arm.call("GET", f"/subscriptions/{SUBSCRIPTION}", api_version=API)
    assert reply.status_code == 200 and reply.json()["tenantId"] == CONTOSO
    assert Client(world, RG_READER).call("GET", f"/subscriptions/{SUBSCRIPTION}", api_version=API).status_code == 200
    missing = arm.call("GET", "/subscriptions/99999999-9999-4999-8999-999999999999", api_version=API)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "SubscriptionNotFound")
    foreign = arm.call("GET", f"/subscriptions/{FABRIKAM_SUB}", api_version=API)
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (401, "InvalidAuthenticationTokenTenant")
    denied = Client(world, NOBODY).call("GET", f"/subscriptions/{SUBSCRIPTION}", api_version=API)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "AuthorizationFailed")
    assert "Microsoft.Resources/subscriptions/read" in denied.json()["error"]["message"]


def test_list_tenants_gives_the_callers_home_tenant(world, arm):
    reply = arm.call("GET", "/tenants", api_version=API)
    assert reply.status_code == 200
    assert reply.json() == {
        "value": [
            {
                "id": f"/tenants/{CONTOSO}",
                "tenantId": CONTOSO,
                "countryCode": "US",
                "displayName": "Contoso",
                "domains": ["contoso.onmicrosoft.com"],
                "tenantCategory": "Home",
                "defaultDomain": "contoso.onmicrosoft.com",
                "tenantType": "AAD",
            }
        ]
    }


def test_role_assignments_listed_at_subscription_scope_by_principal_include_those_below(world, arm):
    """What the offboarding check reads: ARM lists, at a subscription, the assignments at, above
    and below it (recordings/azure-cli_test_role_assignment_at_scope.yaml lists at subscription
    scope with `$filter=principalId eq` and gets the resource-group assignment)."""
    reply = arm.call(
        "GET", f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleAssignments",
        api_version="2022-04-01", **{"$filter": f"principalId eq '{V7_SP}'"},
    )
    assert reply.status_code == 200
    assert [a["properties"]["scope"] for a in reply.json()["value"]] == [CONTAINER_SCOPE]
    at_scope = arm.call(
        "GET", f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleAssignments",
        api_version="2022-04-01", **{"$filter": f"atScope() and principalId eq '{V7_SP}'"},
    )
    assert at_scope.json()["value"] == []


def test_a_disabled_subscription_is_read_only(world, arm):
    path = account_path(account="contosoold", rg="rg-old", sub=OTHER_SUB)
    assert arm.call("GET", path).status_code == 200
    reply = arm.call("PUT", path + "/blobServices/default", {"properties": {"cors": {"corsRules": []}}})
    assert (reply.status_code, reply.json()["error"]["code"]) == (409, "ReadOnlyDisabledSubscription")
