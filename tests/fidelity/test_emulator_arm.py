"""ARM as the emulator serves it: token checks, ARM's errors, storage and RBAC behaviour."""
from __future__ import annotations

import time
import uuid

import pytest

from tests.conftest import OPERATOR, SUBSCRIPTION

from .conftest import Client, account_path

READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
ROLE_API = "2022-04-01"


def role_id(guid: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def assignment_body(principal: str, principal_type: str | None = "ServicePrincipal", role: str = READER) -> dict:
    props = {"roleDefinitionId": role_id(role), "principalId": principal}
    if principal_type:
        props["principalType"] = principal_type
    return {"properties": props}


def new_principal(graph) -> str:
    reply = graph.call("POST", "/servicePrincipals", {"appId": "95e63529-38cc-435c-b247-32a1d62f321d"}, api_version=None)
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


@pytest.mark.parametrize(
    "headers, status, code",
    [
        ({}, 401, "AuthenticationFailed"),
        ({"Authorization": "Bearer not-a-token"}, 401, "InvalidAuthenticationToken"),
    ],
)
def test_arm_refuses_missing_or_bad_tokens(emulator, headers, status, code):
    import requests

    reply = requests.get(
        emulator.url + account_path()[1:], params={"api-version": "2026-09-01"}, headers=headers, verify=emulator.ca_bundle
    )
    assert (reply.status_code, reply.json()["error"]["code"]) == (status, code)
    assert "WWW-Authenticate" in reply.headers
    assert reply.headers["x-ms-request-id"]


def test_arm_refuses_a_graph_token(emulator, graph):
    client = Client(emulator, OPERATOR, scope=emulator.graph_url + ".default")
    reply = client.call("GET", account_path())
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_missing_api_version_is_refused_as_arm_does(arm):
    reply = arm.call("GET", account_path(), api_version=None)
    assert reply.status_code == 400
    assert reply.json() == {
        "error": {
            "code": "MissingApiVersionParameter",
            "message": "The api-version query parameter (?api-version=) is required for all requests.",
        }
    }


@pytest.mark.parametrize("version", ["2026-09-01", "2025-06-01", "2019-06-01", "2022-05-01"])
def test_any_api_version_is_accepted(arm, version):
    assert arm.call("GET", account_path(), api_version=version).status_code == 200


@pytest.mark.parametrize(
    "path, code",
    [
        (account_path(sub="99999999-9999-4999-8999-999999999999"), "SubscriptionNotFound"),
        (account_path(rg="rg-missing"), "ResourceGroupNotFound"),
        (account_path(account="nosuchaccount"), "ResourceNotFound"),
    ],
)
def test_not_found_codes(arm, path, code):
    reply = arm.call("GET", path)
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == code


def test_storage_account_shape(arm):
    body = arm.call("GET", account_path()).json()
    assert body["kind"] == "StorageV2" and body["sku"] == {"name": "Standard_LRS", "tier": "Standard"}
    props = body["properties"]
    assert props["publicNetworkAccess"] == "Enabled"
    assert props["networkAcls"]["defaultAction"] == "Allow"
    assert props["allowSharedKeyAccess"] is True
    assert props["primaryEndpoints"]["blob"] == "https://contosoimages.blob.core.windows.net/"


def test_storage_account_lists(arm):
    by_sub = arm.call("GET", f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Storage/storageAccounts").json()
    by_rg = arm.call("GET", f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts").json()
    assert {a["name"] for a in by_sub["value"]} == {"contosoimages", "contosovideos", "contosofiles"}
    assert by_rg == by_sub


def test_blob_service_put_merges_per_top_level_property_and_echoes_what_was_sent(arm):
    path = account_path() + "/blobServices/default"
    put = arm.call("PUT", path, {"properties": {"deleteRetentionPolicy": {"enabled": True, "days": 7}}})
    assert put.status_code == 200
    assert "sku" not in put.json()
    assert put.json()["properties"] == {"deleteRetentionPolicy": {"enabled": True, "days": 7}}
    rule = {"allowedOrigins": ["https://a.example"], "allowedMethods": ["GET"], "allowedHeaders": ["*"], "exposedHeaders": [], "maxAgeInSeconds": 0}
    put = arm.call("PUT", path, {"properties": {"cors": {"corsRules": [rule]}}})
    assert put.json()["properties"]["cors"]["corsRules"][0]["exposedHeaders"] == []
    got = arm.call("GET", path).json()
    assert got["sku"]["name"] == "Standard_LRS"
    # the deleteRetentionPolicy sent earlier survived a PUT that did not send it
    assert got["properties"]["deleteRetentionPolicy"] == {"enabled": True, "days": 7, "allowPermanentDelete": False}
    # the recorded quirk: [] comes back as [""] on GET
    assert got["properties"]["cors"]["corsRules"][0]["exposedHeaders"] == [""]


def test_blob_service_refuses_a_sixth_cors_rule(arm):
    rule = {"allowedOrigins": ["https://a.example"], "allowedMethods": ["GET"], "allowedHeaders": ["*"], "exposedHeaders": [], "maxAgeInSeconds": 0}
    path = account_path() + "/blobServices/default"
    reply = arm.call("PUT", path, {"properties": {"cors": {"corsRules": [rule] * 6}}})
    assert reply.status_code == 400
    assert arm.call("GET", path).json()["properties"]["cors"]["corsRules"] == []


@pytest.mark.parametrize("missing", ["allowedOrigins", "allowedMethods", "maxAgeInSeconds", "exposedHeaders", "allowedHeaders"])
def test_blob_service_requires_every_cors_rule_field(arm, missing):
    rule = {"allowedOrigins": ["https://a.example"], "allowedMethods": ["GET"], "allowedHeaders": ["*"], "exposedHeaders": [], "maxAgeInSeconds": 0}
    del rule[missing]
    reply = arm.call("PUT", account_path() + "/blobServices/default", {"properties": {"cors": {"corsRules": [rule]}}})
    assert reply.status_code == 400


def test_file_storage_account_has_no_blob_service(arm):
    reply = arm.call("GET", account_path("contosofiles") + "/blobServices/default")
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "FeatureNotSupportedForAccount"


def test_containers_create_get_delete_and_paging(arm):
    base = account_path() + "/blobServices/default/containers"
    assert arm.call("PUT", base + "/newone", {}).status_code == 201
    assert arm.call("PUT", base + "/newone", {}).status_code == 200
    assert arm.call("GET", base + "/newone").json()["name"] == "newone"
    assert arm.call("GET", base + "/missing").status_code == 404
    page = arm.call("GET", base, **{"$maxpagesize": "2"}).json()
    assert len(page["value"]) == 2 and page["nextLink"].startswith("https://")
    rest = arm.call("GET", page["nextLink"], api_version=None).json()
    assert [c["name"] for c in page["value"] + rest["value"]] == ["images", "newone", "thumbnails"]
    assert "nextLink" not in rest
    assert arm.call("DELETE", base + "/newone").status_code == 200
    assert arm.call("DELETE", base + "/newone").status_code == 204


def test_caller_without_rights_gets_authorization_failed(auditor_arm):
    reply = auditor_arm.call("PUT", account_path() + "/blobServices/default", {"properties": {"cors": {"corsRules": []}}})
    assert reply.status_code == 403
    error = reply.json()["error"]
    assert error["code"] == "AuthorizationFailed"
    assert "Microsoft.Storage/storageAccounts/blobServices/write" in error["message"]
    # reading is fine for a Reader
    assert auditor_arm.call("GET", account_path()).status_code == 200


def test_role_assignment_lifecycle_and_409_for_the_same_trio(arm, graph):
    principal = new_principal(graph)
    scope = account_path() + "/blobServices/default/containers/images"
    name = str(uuid.uuid4())
    path = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
    created = arm.call("PUT", path, assignment_body(principal), api_version=ROLE_API)
    assert created.status_code == 201, created.text
    assert created.json()["properties"]["scope"] == scope
    again = arm.call("PUT", path, assignment_body(principal), api_version=ROLE_API)
    assert again.status_code == 200
    other = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    conflict = arm.call("PUT", other, assignment_body(principal), api_version=ROLE_API)
    assert (conflict.status_code, conflict.json()) == (409, {"error": {"code": "RoleAssignmentExists", "message": "The role assignment already exists."}})
    changed = arm.call("PUT", path, assignment_body(principal, role="ba92f5b4-2d11-453d-a403-e96b0029c9fe"), api_version=ROLE_API)
    assert changed.status_code == 400 and changed.json()["error"]["code"] == "RoleAssignmentUpdateNotPermitted"
    listed = arm.call("GET", f"{scope}/providers/Microsoft.Authorization/roleAssignments", api_version=ROLE_API, **{"$filter": f"principalId eq '{principal}'"})
    assert [a["name"] for a in listed.json()["value"]] == [name]
    assert "nextLink" not in listed.json()
    assert arm.call("DELETE", path, api_version=ROLE_API).status_code == 200
    assert arm.call("DELETE", path, api_version=ROLE_API).status_code == 204


def test_list_at_scope_includes_above_and_below_and_at_scope_filter_excludes_below(arm, graph):
    principal = new_principal(graph)
    account = account_path()
    container = account + "/blobServices/default/containers/images"
    for scope in (account, container):
        arm.call("PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}", assignment_body(principal), api_version=ROLE_API)
    flt = f"principalId eq '{principal}'"
    at_account = arm.call("GET", f"{account}/providers/Microsoft.Authorization/roleAssignments", api_version=ROLE_API, **{"$filter": flt}).json()["value"]
    assert {a["properties"]["scope"] for a in at_account} == {account, container}
    at_container = arm.call("GET", f"{container}/providers/Microsoft.Authorization/roleAssignments", api_version=ROLE_API, **{"$filter": flt}).json()["value"]
    assert {a["properties"]["scope"] for a in at_container} == {account, container}
    only_at = arm.call("GET", f"{account}/providers/Microsoft.Authorization/roleAssignments", api_version=ROLE_API, **{"$filter": "atScope()"}).json()["value"]
    assert container not in {a["properties"]["scope"] for a in only_at}


def test_unknown_principal_is_principal_not_found(arm):
    path = account_path() + f"/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    missing = "0f14a80d-42e5-4d57-afe0-46acf9dfae05"
    reply = arm.call("PUT", path, assignment_body(missing), api_version=ROLE_API)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == "PrincipalNotFound"
    assert error["message"].startswith("Principal 0f14a80d42e54d57afe046acf9dfae05 does not exist in the directory")


def test_replication_delay_without_principal_type_then_with_it(emulator, arm, graph):
    emulator.faults(principal_replication_seconds=30)
    principal = new_principal(graph)
    path = account_path() + f"/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    untyped = arm.call("PUT", path, assignment_body(principal, principal_type=None), api_version=ROLE_API)
    assert untyped.status_code == 400 and untyped.json()["error"]["code"] == "PrincipalNotFound"
    typed = arm.call("PUT", path, assignment_body(principal), api_version=ROLE_API)
    assert typed.status_code == 201
    emulator.faults(principal_replication_seconds=30, principal_replication_ignores_type=True)
    other = account_path("contosovideos") + f"/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    assert arm.call("PUT", other, assignment_body(principal), api_version=ROLE_API).json()["error"]["code"] == "PrincipalNotFound"


def test_replication_delay_ends(emulator, arm, graph):
    emulator.faults(principal_replication_seconds=1)
    principal = new_principal(graph)
    path = account_path() + f"/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    assert arm.call("PUT", path, assignment_body(principal, None), api_version=ROLE_API).status_code == 400
    time.sleep(1.2)
    assert arm.call("PUT", path, assignment_body(principal, None), api_version=ROLE_API).status_code == 201


def test_missing_container_scope_is_refused(arm, graph):
    principal = new_principal(graph)
    scope = account_path() + "/blobServices/default/containers/nosuch"
    reply = arm.call("PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}", assignment_body(principal), api_version=ROLE_API)
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "ResourceNotFound"


def test_role_assignment_write_needs_the_right_role(auditor_arm, graph):
    principal = new_principal(graph)
    path = account_path() + f"/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    reply = auditor_arm.call("PUT", path, assignment_body(principal), api_version=ROLE_API)
    assert reply.status_code == 403
    assert "Microsoft.Authorization/roleAssignments/write" in reply.json()["error"]["message"]


def test_wrong_principal_type_is_refused(arm):
    path = account_path() + f"/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    reply = arm.call("PUT", path, assignment_body("cccccccc-0000-4000-8000-0000000000c1", "ServicePrincipal"), api_version=ROLE_API)
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "UnmatchedPrincipalType"


def test_role_definitions_by_id_and_by_name_case_insensitive(arm):
    by_id = arm.call("GET", role_id(READER), api_version=ROLE_API).json()
    assert by_id["properties"]["roleName"] == "Storage Blob Data Reader"
    listed = arm.call(
        "GET",
        f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions",
        api_version=ROLE_API,
        **{"$filter": "roleName eq 'storage blob delegator'"},
    ).json()["value"]
    assert [d["name"] for d in listed] == ["db58b8e5-c6ad-4a2a-8342-4190687cbf4a"]
    unknown = arm.call("GET", role_id(str(uuid.uuid4())), api_version=ROLE_API)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "RoleDefinitionDoesNotExist"


def test_permissions_of_the_caller_at_a_resource(emulator, arm, auditor_arm):
    from azure.mgmt.authorization import AuthorizationManagementClient

    client = AuthorizationManagementClient(
        arm.credential,
        SUBSCRIPTION,
        base_url=emulator.url,
        credential_scopes=["https://management.core.windows.net/.default"],
        connection_verify=emulator.ca_bundle,
    )
    owner = list(client.permissions.list_for_resource("rg-data", "Microsoft.Storage", "", "storageAccounts", "contosoimages"))
    assert [p.actions for p in owner] == [["*"]]
    reply = auditor_arm.call(
        "GET", account_path() + "/providers/Microsoft.Authorization/permissions", api_version=ROLE_API
    )
    assert reply.json()["value"] == [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}]
    missing = arm.call("GET", account_path("nosuch") + "/providers/Microsoft.Authorization/permissions", api_version=ROLE_API)
    assert missing.status_code == 404
