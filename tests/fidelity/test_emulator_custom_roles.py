"""Custom role definitions in the emulator, as Azure answers them: declared per tenant in the
state document, returned by roleDefinitions GET (by id, by roleName, by type) in Azure's shape,
assignable, honoured by every RBAC check and by the Permissions API. Every ARM reply here is
validated against Microsoft's specs by the `emulator` fixture."""
from __future__ import annotations

import copy
import uuid

import pytest

from tests.conftest import AUDITOR, CONTOSO, DEFAULT_STATE, SUBSCRIPTION
from tests.emulator.state import State, StateError, load_document

from .conftest import Client, account_path

ROLE_API = "2022-04-01"
CUSTOM = "0c0ffee0-0000-4000-8000-00000000c0de"
FOREIGN = "0c0ffee0-0000-4000-8000-00000000f0e1"
OTHER_TENANT = "99999999-9999-4999-8999-999999999999"
DEFINITIONS = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions"
PERMISSIONS = {
    "actions": ["Microsoft.Storage/storageAccounts/read", "Microsoft.Storage/storageAccounts/blobServices/*",
                "Microsoft.Authorization/permissions/read"],
    "notActions": ["Microsoft.Storage/storageAccounts/blobServices/write"],
    "dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    "notDataActions": [],
}


def custom_role(guid: str, name: str, scopes: list[str]) -> dict:
    return {"id": guid, "roleName": name, "type": "CustomRole", "description": "CORS reader",
            "permissions": [copy.deepcopy(PERMISSIONS)], "assignableScopes": scopes}


def world() -> dict:
    doc = load_document(DEFAULT_STATE)
    contoso = doc["tenants"][0]
    contoso["custom_roles"] = [custom_role(CUSTOM, "CORS Reader", [f"/subscriptions/{SUBSCRIPTION}"])]
    # the auditor holds the custom role instead of Reader
    contoso["role_assignments"][1] = {"scope": f"/subscriptions/{SUBSCRIPTION}", "role": "CORS Reader",
                                      "principal_id": AUDITOR["object_id"]}
    doc["tenants"].append({"id": OTHER_TENANT, "display_name": "Other",
                           "custom_roles": [custom_role(FOREIGN, "Foreign Role", ["/subscriptions/unused"])]})
    return doc


@pytest.fixture
def custom(emulator):
    emulator.load_state(world())
    return emulator


@pytest.fixture
def auditor(custom):
    return Client(custom, AUDITOR)


def test_get_by_id_has_azures_shape(custom, arm):
    reply = arm.call("GET", f"{DEFINITIONS}/{CUSTOM}", api_version=ROLE_API)
    assert reply.status_code == 200
    body = reply.json()
    assert body["id"] == f"{DEFINITIONS}/{CUSTOM}" and body["name"] == CUSTOM
    assert body["type"] == "Microsoft.Authorization/roleDefinitions"
    props = body["properties"]
    assert (props["roleName"], props["type"], props["description"]) == ("CORS Reader", "CustomRole", "CORS reader")
    assert props["assignableScopes"] == [f"/subscriptions/{SUBSCRIPTION}"]
    assert props["permissions"] == [PERMISSIONS]


@pytest.mark.parametrize("query, names", [
    ("roleName eq 'cors reader'", [CUSTOM]),
    ("roleName eq 'Foreign Role'", []),          # another tenant's custom role
    ("type eq 'CustomRole'", [CUSTOM]),
])
def test_list_filters_see_the_tenants_custom_roles(custom, arm, query, names):
    reply = arm.call("GET", DEFINITIONS, api_version=ROLE_API, **{"$filter": query})
    assert [d["name"] for d in reply.json()["value"]] == names


def test_unfiltered_list_has_builtins_and_the_custom_role(custom, arm):
    listed = {d["name"]: d["properties"]["type"] for d in arm.call("GET", DEFINITIONS, api_version=ROLE_API).json()["value"]}
    assert listed[CUSTOM] == "CustomRole" and listed["acdd72a7-3385-48ef-bd42-f606fba81ae7"] == "BuiltInRole"
    assert FOREIGN not in listed


def test_another_tenants_custom_role_does_not_exist_here(custom, arm):
    reply = arm.call("GET", f"{DEFINITIONS}/{FOREIGN}", api_version=ROLE_API)
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "RoleDefinitionDoesNotExist"


@pytest.mark.parametrize("method, path, status", [
    ("GET", account_path(), 200),                                        # storageAccounts/read
    ("GET", account_path() + "/blobServices/default", 200),              # blobServices/* ...
    ("PUT", account_path() + "/blobServices/default", 403),              # ... but not the notAction
    ("GET", account_path() + "/blobServices/default/containers/images", 200),  # blobServices/* covers it
    ("GET", f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Storage/storageAccounts", 200),
    ("GET", account_path() + "/providers/Microsoft.Authorization/roleAssignments", 403),
])
def test_rbac_checks_honour_actions_and_not_actions(auditor, method, path, status):
    body = {"properties": {"cors": {"corsRules": []}}} if method == "PUT" else None
    version = ROLE_API if "Authorization" in path else "2026-09-01"
    reply = auditor.call(method, path, body, api_version=version)
    assert reply.status_code == status, reply.text
    if status == 403:
        assert reply.json()["error"]["code"] == "AuthorizationFailed"


def test_permissions_api_lists_the_custom_role(auditor):
    reply = auditor.call("GET", account_path() + "/providers/Microsoft.Authorization/permissions", api_version=ROLE_API)
    assert reply.json()["value"] == [PERMISSIONS]


def test_permissions_api_needs_permissions_read(custom, auditor):
    doc = world()
    doc["tenants"][0]["custom_roles"][0]["permissions"][0]["actions"].remove("Microsoft.Authorization/permissions/read")
    custom.load_state(doc)
    reply = auditor.call("GET", account_path() + "/providers/Microsoft.Authorization/permissions", api_version=ROLE_API)
    assert reply.status_code == 403 and "Microsoft.Authorization/permissions/read" in reply.json()["error"]["message"]


def test_a_custom_role_can_be_assigned_and_listed(custom, arm):
    name = str(uuid.uuid4())
    body = {"properties": {"roleDefinitionId": f"{DEFINITIONS}/{CUSTOM}", "principalId": AUDITOR["object_id"],
                           "principalType": "ServicePrincipal"}}
    path = account_path() + f"/providers/Microsoft.Authorization/roleAssignments/{name}"
    assert arm.call("PUT", path, body, api_version=ROLE_API).status_code == 201
    foreign = {"properties": {**body["properties"], "roleDefinitionId": f"{DEFINITIONS}/{FOREIGN}"}}
    refused = arm.call("PUT", account_path() + f"/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
                       foreign, api_version=ROLE_API)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "RoleDefinitionDoesNotExist"
    dumped = [t for t in custom.state()["tenants"] if t["id"] == CONTOSO][0]
    assert [r["id"] for r in dumped["custom_roles"]] == [CUSTOM]
    assert any(ra["name"] == name and ra["role"] == CUSTOM for ra in dumped["role_assignments"])


@pytest.mark.parametrize("change, message", [
    (lambda r: r.update(type="BuiltInRole"), "type must be CustomRole"),
    (lambda r: r.update(assignableScopes=[]), "assignableScopes are required"),
    (lambda r: r["permissions"].append({}), "exactly one permissions entry"),
    (lambda r: r.update(roleName="Reader"), "already exists"),
    (lambda r: r.update(id="acdd72a7-3385-48ef-bd42-f606fba81ae7"), "used twice"),
])
def test_bad_custom_roles_are_refused_when_loading(change, message):
    doc = world()
    change(doc["tenants"][0]["custom_roles"][0])
    with pytest.raises(StateError, match=message):
        State(doc)


def test_a_dumped_world_loads_back_the_same():
    first = State(world()).dump()
    assert State(copy.deepcopy(first)).dump()["tenants"][0]["custom_roles"] == first["tenants"][0]["custom_roles"]
