"""The spec index against Microsoft's examples, doctored payloads, synthetic specs and real traffic."""
from __future__ import annotations

import copy
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest

from tests.fidelity.recordings import load_recording, recording_paths
from tests.fidelity.swagger import SPECS_ROOT, SpecIndex, json_path

INDEX = SpecIndex.load()

SUB = "/subscriptions/S/resourceGroups/R/providers/Microsoft.Storage/storageAccounts/a"
GUID = "0b5a0c0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"


def _example(operation_id: str, name: str) -> dict:
    return json.loads((SPECS_ROOT / INDEX.operation(operation_id).examples[name]).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- loading


def test_loading_every_spec_is_fast_and_cached(tmp_path: Path) -> None:
    copy_root = tmp_path / "specs"
    shutil.copytree(SPECS_ROOT, copy_root)
    started = time.perf_counter()
    fresh = SpecIndex.load(copy_root)
    assert time.perf_counter() - started < 1.0
    assert len(fresh.operations) == len(INDEX.operations) == 90  # 83 + the 7 of subscriptions.json
    assert SpecIndex.load() is INDEX
    assert SpecIndex.load(str(SPECS_ROOT)) is INDEX


def test_operations_of_interest_are_indexed_with_their_spec_version() -> None:
    versions = {op.operation_id: (op.method, op.api_version) for op in INDEX.operations}
    assert versions["BlobServices_SetServiceProperties"] == ("PUT", "2025-06-01")
    assert versions["StorageAccounts_GetProperties"] == ("GET", "2025-06-01")
    assert versions["RoleAssignments_Create"] == ("PUT", "2022-04-01")
    assert versions["RoleDefinitions_GetById"] == ("GET", "2022-04-01")
    assert INDEX.operation("RoleDefinitions_GetById").template == "/{roleId}?disambiguation_dummy"


# --------------------------------------------------------------------------- routing


@pytest.mark.parametrize(
    ("method", "url", "operation_id"),
    [
        ("PUT", f"https://127.0.0.1:8443{SUB}/blobServices/default?api-version=2026-09-01",
         "BlobServices_SetServiceProperties"),
        ("GET", f"https://127.0.0.1:8443{SUB}/blobServices/default?api-version=2026-09-01",
         "BlobServices_GetServiceProperties"),
        ("GET", f"https://h{SUB}/blobServices?api-version=2026-09-01", "BlobServices_List"),
        ("GET", f"https://h{SUB}/blobServices/default/containers/c?api-version=2026-09-01", "BlobContainers_Get"),
        ("PUT", f"https://h{SUB}/blobServices/default/containers/c?api-version=2026-09-01", "BlobContainers_Create"),
        # The same URL is ListForScope with scope=the container; the template naming the
        # resource has more literal segments.
        ("GET", f"https://h{SUB}/blobServices/default/containers/c/providers/Microsoft.Authorization/roleAssignments"
                "?$filter=principalId%20eq%20'x'&api-version=2022-04-01", "RoleAssignments_ListForResource"),
        ("PUT", f"https://h{SUB}/blobServices/default/containers/c/providers/Microsoft.Authorization/roleAssignments/"
                f"{GUID}?api-version=2022-04-01", "RoleAssignments_Create"),
        ("PUT", f"https://h{SUB}/providers/Microsoft.Authorization/roleAssignments/{GUID}?api-version=2022-04-01",
         "RoleAssignments_Create"),
        ("DELETE", f"https://h{SUB}/providers/Microsoft.Authorization/roleAssignments/{GUID}?api-version=2022-04-01",
         "RoleAssignments_Delete"),
        ("GET", "https://h/subscriptions/S/providers/Microsoft.Authorization/roleAssignments"
                "?$filter=principalId%20eq%20'x'&api-version=2022-04-01", "RoleAssignments_ListForSubscription"),
        ("GET", "https://h/subscriptions/S/resourceGroups/R/providers/Microsoft.Authorization/roleAssignments"
                "?api-version=2022-04-01", "RoleAssignments_ListForResourceGroup"),
        ("GET", f"https://h/subscriptions/S/providers/Microsoft.Authorization/roleDefinitions/{READER}"
                "?api-version=2022-04-01", "RoleDefinitions_Get"),
        ("GET", f"https://h{SUB}/providers/Microsoft.Authorization/roleDefinitions/{READER}?api-version=2022-04-01",
         "RoleDefinitions_Get"),
        # No scope before /providers: only the id-only templates match; the resource type
        # picks RoleDefinitions over RoleAssignments.
        ("GET", f"https://h/providers/Microsoft.Authorization/roleDefinitions/{READER}?api-version=2022-04-01",
         "RoleDefinitions_GetById"),
        ("GET", f"https://h/providers/Microsoft.Authorization/roleAssignments/{GUID}?api-version=2022-04-01",
         "RoleAssignments_GetById"),
        ("GET", "https://h/subscriptions/S/providers/Microsoft.Authorization/roleDefinitions"
                "?$filter=roleName%20eq%20'Reader'&api-version=2022-04-01", "RoleDefinitions_List"),
        ("GET", f"https://h{SUB}?api-version=2026-09-01", "StorageAccounts_GetProperties"),
        ("PATCH", f"https://h{SUB}?api-version=2026-09-01", "StorageAccounts_Update"),
        ("GET", "https://h/subscriptions/S/providers/Microsoft.Storage/storageAccounts?api-version=2026-09-01",
         "StorageAccounts_List"),
        ("GET", "https://h/subscriptions/S/resourceGroups/R/providers/Microsoft.Storage/storageAccounts"
                "?api-version=2026-09-01", "StorageAccounts_ListByResourceGroup"),
        # ARM paths are case-insensitive; a trailing slash and a bare path are accepted.
        ("get", "https://h/SUBSCRIPTIONS/S/resourcegroups/R/providers/microsoft.storage/storageaccounts/a/"
                "blobservices/default/", "BlobServices_GetServiceProperties"),
        ("GET", f"{SUB}/blobServices/default", "BlobServices_GetServiceProperties"),
    ],
)
def test_find_routes_the_urls_the_sdks_send(method: str, url: str, operation_id: str) -> None:
    operation = INDEX.find(method, url)
    assert operation is not None
    assert operation.operation_id == operation_id


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("PUT", "https://h/subscriptions/S/resourcegroups/R?api-version=2021-04-01"),
        ("PUT", "https://h/subscriptions/S/resourceGroups/R/providers/Microsoft.ManagedIdentity/"
                "userAssignedIdentities/i?api-version=2023-01-31"),
        ("GET", "https://graph.microsoft.com/v1.0/servicePrincipals/x"),
        ("POST", "https://login.microsoftonline.com/t/oauth2/v2.0/token"),
        ("PATCH", f"https://h{SUB}/blobServices/default?api-version=2026-09-01"),
        ("GET", f"https://h{SUB}/blobServices/default/containers/c/extra/segments"),
        ("GET", "https://h/subscriptions/S/providers/Microsoft.Authorization/policyAssignments/p"),
    ],
)
def test_find_returns_none_for_urls_the_specs_do_not_describe(method: str, url: str) -> None:
    assert INDEX.find(method, url) is None


def test_validate_names_an_undefined_operation() -> None:
    problems = INDEX.validate("PUT", "https://h/subscriptions/S/resourcegroups/R?api-version=1", 201, {})
    assert problems == ["request PUT /subscriptions/S/resourcegroups/R: UNDEFINED_OPERATION: no operation matches"]


# --------------------------------------------------------------------------- Microsoft's examples


def _example_cases() -> list[tuple[str, str, str]]:
    cases = []
    for operation in INDEX.operations:
        for name, relative in operation.examples.items():
            path = SPECS_ROOT / relative
            if path.exists():
                example = json.loads(path.read_text(encoding="utf-8"))
                cases += [(operation.operation_id, name, status) for status in example["responses"]]
    return cases


EXAMPLE_CASES = _example_cases()


def test_every_example_file_is_used_by_an_operation() -> None:
    on_disk = {path.relative_to(SPECS_ROOT).as_posix() for path in SPECS_ROOT.rglob("examples/*.json")}
    used = {INDEX.operation(op).examples[name] for op, name, _expected in EXAMPLE_CASES}
    assert used == on_disk
    assert len(on_disk) == 13


@pytest.mark.parametrize(("operation_id", "name", "status"), EXAMPLE_CASES)
def test_examples_validate_clean(operation_id: str, name: str, status: str) -> None:
    operation = INDEX.operation(operation_id)
    example = _example(operation_id, name)
    request_body = example["parameters"].get(operation.body_parameter) if operation.body_parameter else None
    body = example["responses"][status].get("body")
    assert operation.validate(status, body, request_body) == []


# Example parameters are placeholders in places, so an example URL does not always route back to
# its own operation.
EXAMPLE_ROUTING_EXCEPTIONS = {
    # Same URL; the subscription template is the more specific one.
    "RoleAssignments_ListForScope": "RoleAssignments_ListForSubscription",
    # The example's roleId is the bare placeholder "roleDefinitionId", which names no provider.
    "RoleDefinitions_GetById": None,
}


@pytest.mark.parametrize(("operation_id", "name"), sorted({(op, name) for op, name, _expected in EXAMPLE_CASES}))
def test_example_urls_route_to_their_operation(operation_id: str, name: str) -> None:
    operation = INDEX.operation(operation_id)
    parameters = _example(operation_id, name)["parameters"]
    path = re.sub(r"\{([^}]+)\}", lambda m: str(parameters[m.group(1)]), operation.template.split("?")[0])
    found = INDEX.find(operation.method, f"https://management.azure.com{path}?api-version=2099-01-01")
    expected = EXAMPLE_ROUTING_EXCEPTIONS.get(operation_id, operation_id)
    assert (found.operation_id if found else None) == expected


# --------------------------------------------------------------------------- doctored payloads


def _rule(body: dict) -> dict:
    return body["properties"]["cors"]["corsRules"][0]


def _set(path: list[Any], value: Any) -> Callable[[Any], None]:
    def mutate(body: Any) -> None:
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


def _delete(path: list[Any]) -> Callable[[Any], None]:
    def mutate(body: Any) -> None:
        node = body
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return mutate


RULE = ["properties", "cors", "corsRules", 0]
RULE_PATH = "$.properties.cors.corsRules[0]"


@pytest.mark.parametrize(
    ("operation_id", "example", "status", "mutate", "expected"),
    [
        ("BlobServices_SetServiceProperties", "PutBlobServices", "200", _set([*RULE, "bogus"], 1),
         [f"response {RULE_PATH}.bogus: OBJECT_ADDITIONAL_PROPERTIES: property 'bogus' is not declared by the schema"]),
        ("BlobServices_SetServiceProperties", "PutBlobServices", "200", _set([*RULE, "maxAgeInSeconds"], "100"),
         [f"response {RULE_PATH}.maxAgeInSeconds: INVALID_TYPE: expected type integer, found string"]),
        ("BlobServices_SetServiceProperties", "PutBlobServices", "200", _delete([*RULE, "allowedHeaders"]),
         [f"response {RULE_PATH}: OBJECT_MISSING_REQUIRED_PROPERTY: missing required property 'allowedHeaders'"]),
        # Required and not x-nullable: null is a wrong type.
        ("BlobServices_SetServiceProperties", "PutBlobServices", "200", _set([*RULE, "allowedOrigins"], None),
         [f"response {RULE_PATH}.allowedOrigins: INVALID_TYPE: expected type array, found null"]),
        ("BlobServices_SetServiceProperties", "PutBlobServices", "200", _set([*RULE, "allowedOrigins", 1], 7),
         [f"response {RULE_PATH}.allowedOrigins[1]: INVALID_TYPE: expected type string, found integer"]),
        # Not required: oav lets it be null.
        ("BlobServices_SetServiceProperties", "PutBlobServices", "200",
         _set(["properties", "deleteRetentionPolicy", "days"], None), []),
        ("BlobServices_SetServiceProperties", "PutBlobServices", "200",
         _set(["properties", "deleteRetentionPolicy", "days"], 0),
         ["response $.properties.deleteRetentionPolicy.days: MINIMUM: value violates minimum=1"]),
        # allowedMethods is an x-ms-enum with modelAsString: any string is accepted.
        ("BlobServices_SetServiceProperties", "PutBlobServices", "200", _set([*RULE, "allowedMethods"], ["FETCH"]), []),
        # Sku.tier is a closed enum.
        ("BlobServices_SetServiceProperties", "PutBlobServices", "200", _set(["sku", "tier"], "Gold"),
         ["response $.sku.tier: ENUM_MISMATCH: 'Gold' is not one of ['Standard', 'Premium']"]),
        # readOnly properties are fine in a response.
        ("BlobServices_SetServiceProperties", "PutBlobServices", "200", _set(["name"], "default"), []),
        # BlobServicePropertiesProperties and CorsRules declare no `type`; they are objects still.
        ("BlobServices_SetServiceProperties", "PutBlobServices", "200", _set(["properties"], []),
         ["response $.properties: INVALID_TYPE: expected type object, found array"]),
        ("BlobServices_SetServiceProperties", "PutBlobServices", "200", _set(["properties", "cors"], ""),
         ["response $.properties.cors: INVALID_TYPE: expected type object, found string"]),
        ("BlobContainers_Get", "GetContainers", "200", _set(["properties", "lastModifiedTime"], "yesterday"),
         ["response $.properties.lastModifiedTime: INVALID_FORMAT: value is not a valid date-time"]),
        ("StorageAccounts_GetProperties", "StorageAccountGetProperties", "200",
         _delete(["properties", "networkAcls", "defaultAction"]),
         ["response $.properties.networkAcls: OBJECT_MISSING_REQUIRED_PROPERTY: missing required property 'defaultAction'"]),
        ("StorageAccounts_GetProperties", "StorageAccountGetProperties", "200",
         _set(["properties", "allowSharedKeyAccess"], "false"),
         ["response $.properties.allowSharedKeyAccess: INVALID_TYPE: expected type boolean, found string"]),
        # A property inherited through allOf (TrackedResource.location) is known; a new one is not.
        ("StorageAccounts_GetProperties", "StorageAccountGetProperties", "200", _set(["location"], "westus"), []),
        ("StorageAccounts_GetProperties", "StorageAccountGetProperties", "200", _set(["kindOf"], "x"),
         ["response $.kindOf: OBJECT_ADDITIONAL_PROPERTIES: property 'kindOf' is not declared by the schema"]),
        ("RoleAssignments_Create", "Create role assignment for resource", "201",
         _set(["properties", "principalId"], 5),
         ["response $.properties.principalId: INVALID_TYPE: expected type string, found integer"]),
        ("RoleAssignments_ListForScope", "List role assignments for scope", "200",
         _set(["value", 0, "properties", "extra"], True),
         ["response $.value[0].properties.extra: OBJECT_ADDITIONAL_PROPERTIES: property 'extra' is not declared by the schema"]),
        ("RoleDefinitions_GetById", "Get role definition by ID", "200",
         _set(["properties", "permissions", 0, "actions"], "*"),
         ["response $.properties.permissions[0].actions: INVALID_TYPE: expected type array, found string"]),
    ],
)
def test_doctored_responses_are_flagged(
    operation_id: str, example: str, status: str, mutate: Callable[[Any], None], expected: list[str]
) -> None:
    body = copy.deepcopy(_example(operation_id, example)["responses"][status]["body"])
    mutate(body)
    assert INDEX.operation(operation_id).validate(status, body) == expected


@pytest.mark.parametrize(
    ("operation_id", "status", "body", "expected"),
    [
        ("BlobServices_SetServiceProperties", 400, {"error": {"code": "InvalidXmlDocument", "message": "x"}},
         ["response status 400: INVALID_RESPONSE_CODE: BlobServices_SetServiceProperties declares only 200 "
          "and no default response"]),
        ("StorageAccounts_GetProperties", 404, {"error": {"code": "ResourceNotFound", "message": "x"}},
         ["response status 404: INVALID_RESPONSE_CODE: StorageAccounts_GetProperties declares only 200 "
          "and no default response"]),
        ("BlobContainers_Delete", 202, None,
         ["response status 202: INVALID_RESPONSE_CODE: BlobContainers_Delete declares only 200, 204 "
          "and no default response"]),
        ("BlobContainers_Delete", 204, None, []),
        # Authorization operations declare a default ErrorResponse.
        ("RoleAssignments_Create", 409,
         {"error": {"code": "RoleAssignmentExists", "message": "The role assignment already exists."}}, []),
        ("RoleAssignments_Create", 400, {"error": {"code": "PrincipalNotFound", "message": "x", "details": [
            {"code": "inner", "details": [{"code": 3}]}]}},
         ["response $.error.details[0].details[0].code: INVALID_TYPE: expected type string, found integer"]),
        ("RoleAssignments_Create", 409, {"code": "RoleAssignmentExists"},
         ["response $.code: OBJECT_ADDITIONAL_PROPERTIES: property 'code' is not declared by the schema"]),
        ("RoleAssignments_Create", 201, None, ["response $: INVALID_TYPE: expected type object, found null"]),
    ],
)
def test_status_codes_and_error_bodies(operation_id: str, status: int, body: Any, expected: list[str]) -> None:
    assert INDEX.operation(operation_id).validate(status, body) == expected


@pytest.mark.parametrize(
    ("operation_id", "example", "mutate", "expected"),
    [
        ("BlobServices_SetServiceProperties", "PutBlobServices", _set(["id"], "/subscriptions/x"),
         ["request $.id: READONLY_PROPERTY_NOT_ALLOWED_IN_REQUEST: the property is read-only and must not be sent"]),
        ("BlobServices_SetServiceProperties", "PutBlobServices", _set([*RULE, "maxAgeInSeconds"], "1"),
         [f"request {RULE_PATH}.maxAgeInSeconds: INVALID_TYPE: expected type integer, found string"]),
        ("BlobServices_SetServiceProperties", "PutBlobServices", _set(["properties", "corsRules"], []),
         ["request $.properties.corsRules: OBJECT_ADDITIONAL_PROPERTIES: property 'corsRules' is not declared by the schema"]),
        ("RoleAssignments_Create", "Create role assignment for resource", _set(["properties", "scope"], "/x"),
         ["request $.properties.scope: READONLY_PROPERTY_NOT_ALLOWED_IN_REQUEST: the property is read-only and must not be sent"]),
        # Read-only even when null: sending it at all is the problem.
        ("RoleAssignments_Create", "Create role assignment for resource", _set(["properties", "createdOn"], None),
         ["request $.properties.createdOn: READONLY_PROPERTY_NOT_ALLOWED_IN_REQUEST: the property is read-only and must not be sent"]),
        ("RoleAssignments_Create", "Create role assignment for resource", _delete(["properties", "principalId"]),
         ["request $.properties: OBJECT_MISSING_REQUIRED_PROPERTY: missing required property 'principalId'"]),
        ("RoleAssignments_Create", "Create role assignment for resource",
         _set(["properties", "principalType"], "Robot"), []),
    ],
)
def test_doctored_requests_are_flagged(
    operation_id: str, example: str, mutate: Callable[[Any], None], expected: list[str]
) -> None:
    operation = INDEX.operation(operation_id)
    example_data = _example(operation_id, example)
    request = copy.deepcopy(example_data["parameters"][operation.body_parameter])
    mutate(request)
    status, response = next(iter(example_data["responses"].items()))
    assert operation.validate(status, response.get("body"), request) == expected


def test_validate_by_url_combines_routing_and_validation() -> None:
    example = _example("BlobServices_SetServiceProperties", "PutBlobServices")
    body = copy.deepcopy(example["responses"]["200"]["body"])
    url = f"https://127.0.0.1:8443{SUB}/blobServices/default?api-version=2026-09-01"
    assert INDEX.validate("PUT", url, 200, body, example["parameters"]["parameters"]) == []
    _rule(body)["exposedHeaders"] = "x-ms-meta-*"
    assert INDEX.validate("PUT", url, 200, body) == [
        f"response {RULE_PATH}.exposedHeaders: INVALID_TYPE: expected type array, found string"
    ]


@pytest.mark.parametrize(
    ("parts", "expected"),
    [([], "$"), (["properties", "cors"], "$.properties.cors"), (["value", 0, "id"], "$.value[0].id"),
     (["@odata.context"], '$["@odata.context"]'), (["a b", 2], '$["a b"][2]')],
)
def test_json_path(parts: list, expected: str) -> None:
    assert json_path(parts) == expected


# --------------------------------------------------------------------------- synthetic specs

SYNTHETIC = {
    "specification/zoo/resource-manager/Contoso.Zoo/stable/2020-01-01/zoo.json": {
        "swagger": "2.0",
        "info": {"title": "zoo", "version": "2020-01-01"},
        "paths": {
            "/subscriptions/{subscriptionId}/providers/Contoso.Zoo/animals/{name}": {
                "parameters": [{"$ref": "#/parameters/Sub"}],
                "put": {
                    "operationId": "Animals_Put",
                    "parameters": [
                        {"name": "name", "in": "path", "required": True, "type": "string"},
                        {"name": "animal", "in": "body", "schema": {"$ref": "#/definitions/Animal"}},
                    ],
                    "responses": {"200": {"schema": {"$ref": "#/definitions/Animal"}}},
                },
            },
            "/subscriptions/{subscriptionId}/providers/Contoso.Zoo/trees/{name}": {
                "get": {
                    "operationId": "Trees_Get",
                    "parameters": [{"$ref": "#/parameters/Sub"},
                                   {"name": "name", "in": "path", "required": True, "type": "string"}],
                    "responses": {"200": {"schema": {"$ref": "#/definitions/Node"}},
                                  "default": {"$ref": "#/responses/Error"}},
                },
                "put": {
                    "operationId": "Trees_Put",
                    "parameters": [{"$ref": "#/parameters/Sub"},
                                   {"name": "name", "in": "path", "required": True, "type": "string"},
                                   {"name": "tree", "in": "body", "schema": {"$ref": "#/definitions/Node"}}],
                    "responses": {"200": {"schema": {"$ref": "#/definitions/Node"}}},
                },
            },
            "/{scope}/providers/Contoso.Zoo/keepers/{name}": {
                "get": {
                    "operationId": "Keepers_Get",
                    "parameters": [{"name": "scope", "in": "path", "required": True, "type": "string",
                                    "x-ms-skip-url-encoding": True},
                                   {"name": "name", "in": "path", "required": True, "type": "string"}],
                    "responses": {"200": {"schema": {"$ref": "#/definitions/a~1b"}}},
                },
            },
        },
        "x-ms-paths": {
            "/{keeperId}?disambiguation_dummy": {
                "get": {
                    "operationId": "Keepers_GetById",
                    "parameters": [{"name": "keeperId", "in": "path", "required": True, "type": "string",
                                    "x-ms-skip-url-encoding": True}],
                    "responses": {"200": {"schema": {"$ref": "#/definitions/a~1b"}}},
                },
            },
        },
        "parameters": {"Sub": {"name": "subscriptionId", "in": "path", "required": True, "type": "string"}},
        "responses": {
            "Error": {"description": "error", "schema": {"$ref": "../../../../../common/v1/types.json#/definitions/Error"}}
        },
        "definitions": {
            "Animal": {
                "type": "object",
                "discriminator": "kind",
                "required": ["kind"],
                "properties": {"kind": {"type": "string"}, "id": {"type": "string", "readOnly": True}},
            },
            "Dog": {
                "x-ms-discriminator-value": "dog",
                "allOf": [{"$ref": "#/definitions/Animal"}],
                "properties": {"barks": {"type": "boolean"}},
            },
            "Puppy": {
                "x-ms-discriminator-value": "puppy",
                "allOf": [{"$ref": "#/definitions/Dog"}],
                "required": ["age"],
                "properties": {"age": {"type": "integer"}},
            },
            "Node": {
                "allOf": [{"$ref": "../../../../../common/v1/types.json#/definitions/Named"}],
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/definitions/Node"}},
                    "parent": {"$ref": "#/definitions/Node", "readOnly": True},
                    "label": {"type": "string", "x-nullable": False},
                    "note": {"type": "string", "x-nullable": True},
                    "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                "required": ["note"],
            },
            "a/b": {"type": "object", "properties": {"slash": {"type": "string"}}},
        },
    },
    "specification/common/v1/types.json": {
        "swagger": "2.0",
        "info": {"title": "common", "version": "1.0"},
        "paths": {},
        "definitions": {
            "Named": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
            "Error": {"type": "object", "properties": {"error": {"$ref": "#/definitions/Detail"}}},
            "Detail": {"type": "object", "properties": {
                "code": {"type": "string"},
                "details": {"type": "array", "items": {"$ref": "#/definitions/Detail"}}}},
        },
    },
}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> SpecIndex:
    root = tmp_path_factory.mktemp("specs")
    for relative, document in SYNTHETIC.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document), encoding="utf-8")
    return SpecIndex.load(root)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"kind": "dog", "barks": True}, []),
        ({"kind": "dog", "barks": "loud"}, ["response $.barks: INVALID_TYPE: expected type boolean, found string"]),
        # Dog is Puppy's allOf parent, so (as in oav) it is left open; Puppy is closed.
        ({"kind": "dog", "meows": True}, []),
        ({"kind": "puppy", "age": 1, "meows": True},
         ["response $.meows: OBJECT_ADDITIONAL_PROPERTIES: property 'meows' is not declared by the schema"]),
        ({"kind": "puppy", "barks": True, "age": 1}, []),
        ({"kind": "puppy", "barks": True},
         ["response $: OBJECT_MISSING_REQUIRED_PROPERTY: missing required property 'age'"]),
        # An unknown kind is checked against the base, which is open (it has a discriminator).
        ({"kind": "cat", "meows": True}, []),
        ({"barks": True}, ["response $: OBJECT_MISSING_REQUIRED_PROPERTY: missing required property 'kind'"]),
    ],
)
def test_discriminator_selects_the_subtype(zoo: SpecIndex, body: dict, expected: list[str]) -> None:
    assert zoo.validate("PUT", "/subscriptions/s/providers/Contoso.Zoo/animals/rex", 200, body) == expected


def test_read_only_in_a_polymorphic_request(zoo: SpecIndex) -> None:
    problems = zoo.validate("PUT", "/subscriptions/s/providers/Contoso.Zoo/animals/rex", 200,
                            {"kind": "dog"}, {"kind": "dog", "id": "x"})
    assert problems == ["request $.id: READONLY_PROPERTY_NOT_ALLOWED_IN_REQUEST: the property is read-only and must not be sent"]


TREE_URL = "/subscriptions/s/providers/Contoso.Zoo/trees/t"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "a", "note": None, "children": [{"name": "b", "note": "n", "children": [{"name": "c", "note": "m"}]}]},
         []),
        ({"name": "a", "note": "n",
          "children": [{"name": "b", "note": "n", "children": [{"name": "c", "note": "m", "value": "1"}]}]},
         ["response $.children[0].children[0].value: INVALID_TYPE: expected type integer, found string"]),
        # `name` is required by the allOf parent in another file.
        ({"note": "n"}, ["response $: OBJECT_MISSING_REQUIRED_PROPERTY: missing required property 'name'"]),
        ({"name": "a", "note": "n", "colour": "red"},
         ["response $.colour: OBJECT_ADDITIONAL_PROPERTIES: property 'colour' is not declared by the schema"]),
        # x-nullable: false forbids null on an optional property; items are nullable by default.
        ({"name": "a", "note": "n", "label": None},
         ["response $.label: INVALID_TYPE: expected type string, found null"]),
        ({"name": "a", "note": "n", "children": [None]}, []),
        ({"name": "a", "note": "n", "tags": {"x": "1", "y": None}}, []),
        ({"name": "a", "note": "n", "tags": {"x": 1}}, ["response $.tags.x: INVALID_TYPE: expected type string, found integer"]),
        ({"name": "a", "note": "n", "parent": {"name": "p", "note": "q", "value": 1.5}},
         ["response $.parent.value: INVALID_TYPE: expected type integer, found number"]),
    ],
)
def test_recursive_schemas_across_files(zoo: SpecIndex, body: dict, expected: list[str]) -> None:
    assert zoo.validate("GET", TREE_URL, 200, body) == expected


def test_read_only_ref_sibling_applies_to_requests_only(zoo: SpecIndex) -> None:
    body = {"name": "a", "note": "n", "parent": {"name": "p", "note": "q"}}
    assert zoo.validate("PUT", TREE_URL, 200, body) == []
    assert zoo.validate("PUT", TREE_URL, 200, body, body) == [
        "request $.parent: READONLY_PROPERTY_NOT_ALLOWED_IN_REQUEST: the property is read-only and must not be sent"
    ]


def test_shared_response_ref_and_recursive_error_detail(zoo: SpecIndex) -> None:
    body = {"error": {"code": "Bad", "details": [{"code": "Worse", "details": [{"code": False}]}]}}
    assert zoo.validate("GET", TREE_URL, 500, body) == [
        "response $.error.details[0].details[0].code: INVALID_TYPE: expected type string, found boolean"
    ]


@pytest.mark.parametrize(
    ("url", "operation_id"),
    [
        ("https://h/subscriptions/s/providers/Contoso.Zoo/keepers/k", "Keepers_Get"),
        ("https://h/subscriptions/s/resourceGroups/r/providers/Contoso.Zoo/keepers/k", "Keepers_Get"),
        ("https://h/providers/Contoso.Zoo/keepers/k", "Keepers_GetById"),
        ("https://h/providers/Other.Ns/keepers/k", None),
        ("https://h/keepers/k", None),
    ],
)
def test_x_ms_paths_and_multi_segment_parameters(zoo: SpecIndex, url: str, operation_id: str | None) -> None:
    found = zoo.find("GET", url)
    assert (found.operation_id if found else None) == operation_id


def test_json_pointer_escapes_in_refs(zoo: SpecIndex) -> None:
    url = "https://h/providers/Contoso.Zoo/keepers/k"
    assert zoo.validate("GET", url, 200, {"slash": "/"}) == []
    assert zoo.validate("GET", url, 200, {"slash": 1}) == [
        "response $.slash: INVALID_TYPE: expected type string, found integer"
    ]


def test_dangling_refs_fail_loudly(tmp_path: Path) -> None:
    document = copy.deepcopy(SYNTHETIC["specification/common/v1/types.json"])
    document["definitions"]["Named"]["properties"]["name"] = {"$ref": "missing.json#/definitions/X"}
    document["paths"] = {"/x": {"get": {"operationId": "X_Get", "responses": {
        "200": {"schema": {"$ref": "#/definitions/Named"}}}}}}
    (tmp_path / "types.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(KeyError, match="missing.json"):
        SpecIndex.load(tmp_path)


# --------------------------------------------------------------------------- real recorded traffic


def _arm_interactions() -> list[tuple[str, int]]:
    return [
        (path.name, index)
        for path in recording_paths()
        for index, interaction in enumerate(load_recording(path))
        if interaction.kind == "arm"
    ]


ARM_INTERACTIONS = _arm_interactions()
RECORDINGS = {path.name: load_recording(path) for path in recording_paths()}

RBAC_409 = "azure-cli_test_create_for_rbac_idempotent.EXCERPT-arm-role-assignment-409.yaml"
AT_SCOPE = "azure-cli_test_role_assignment_at_scope.yaml"
CORS = "azure-cli_test_storage_account_blob_cors_rule.yaml"
RETENTION = "azure-cli_test_storage_account_update_delete_retention_policy.yaml"

# The operation each recorded ARM call routes to, in recorded order; None where the specs here
# have no such operation.
RECORDED_OPERATIONS = {
    RBAC_409: ["RoleDefinitions_List", "RoleAssignments_Create", "RoleDefinitions_List", "RoleAssignments_Create"],
    AT_SCOPE: [
        None,  # PUT Microsoft.ManagedIdentity/userAssignedIdentities: that provider's spec is not here.
        "RoleAssignments_Create", "RoleAssignments_ListForSubscription", "RoleAssignments_ListForResourceGroup",
    ],
    "azure-cli_test_service_principal_scenario.yaml": [],  # Graph only
    CORS: ["BlobServices_GetServiceProperties", "BlobServices_SetServiceProperties",
           "BlobServices_GetServiceProperties", "BlobServices_GetServiceProperties",
           "BlobServices_SetServiceProperties", "BlobServices_GetServiceProperties"],
    RETENTION: ["BlobServices_GetServiceProperties", "BlobServices_SetServiceProperties"] * 4,
}

# Recorded api-versions that differ from the spec each call was validated against.
CROSS_VERSION = {
    ("RoleDefinitions_List", "2018-01-01-preview", "2022-04-01"),
    ("RoleAssignments_Create", "2020-04-01-preview", "2022-04-01"),
    ("BlobServices_GetServiceProperties", "2025-01-01", "2025-06-01"),
    ("BlobServices_SetServiceProperties", "2025-01-01", "2025-06-01"),
    ("BlobServices_GetServiceProperties", "2022-05-01", "2025-06-01"),
    ("BlobServices_SetServiceProperties", "2022-05-01", "2025-06-01"),
}

_ROLE_DEFINITION_AUDIT = [
    f"response $.value[0].properties.{name}: OBJECT_ADDITIONAL_PROPERTIES: property '{name}' is not declared by the schema"
    for name in ("createdBy", "createdOn", "updatedBy", "updatedOn")
]

# Real replies that the specs reject. Each is a fact about Azure vs its spec, not an emulator bug.
KNOWN_DEVIATIONS = {
    # roleDefinitions list (recorded at 2018-01-01-preview) returns the audit fields createdOn,
    # updatedOn, createdBy, updatedBy; RoleDefinitionProperties in 2022-04-01 does not declare them.
    (RBAC_409, 0): _ROLE_DEFINITION_AUDIT,
    (RBAC_409, 2): _ROLE_DEFINITION_AUDIT,
}


def test_recorded_arm_calls_route_to_the_expected_operations() -> None:
    routed = {
        name: [
            (op.operation_id if (op := INDEX.find(i.method, i.url)) else None)
            for i in interactions if i.kind == "arm"
        ]
        for name, interactions in RECORDINGS.items()
    }
    assert routed == RECORDED_OPERATIONS


def test_recorded_api_versions_that_the_specs_lack() -> None:
    found = set()
    for interactions in RECORDINGS.values():
        for interaction in interactions:
            operation = INDEX.find(interaction.method, interaction.url) if interaction.kind == "arm" else None
            version = re.search(r"api-version=([^&]+)", interaction.url)
            if operation and version and version.group(1) != operation.api_version:
                found.add((operation.operation_id, version.group(1), operation.api_version))
    assert found == CROSS_VERSION


# Which calls route at all is pinned by test_recorded_arm_calls_route_to_the_expected_operations.
ROUTED_INTERACTIONS = [
    (recording, index) for recording, index in ARM_INTERACTIONS
    if INDEX.find(RECORDINGS[recording][index].method, RECORDINGS[recording][index].url) is not None
]


def test_known_deviations_name_routed_interactions() -> None:
    assert set(KNOWN_DEVIATIONS) <= set(ROUTED_INTERACTIONS)
    assert len(ROUTED_INTERACTIONS) == len(ARM_INTERACTIONS) - 1 == 21


@pytest.mark.parametrize(("recording", "index"), ROUTED_INTERACTIONS)
def test_recorded_arm_traffic_validates(recording: str, index: int) -> None:
    interaction = RECORDINGS[recording][index]
    operation = INDEX.find(interaction.method, interaction.url)
    assert operation is not None
    problems = operation.validate(interaction.status, interaction.response_body, interaction.request_body)
    assert problems == KNOWN_DEVIATIONS.get((recording, index), [])


def test_exposed_headers_quirk_is_valid_against_the_spec() -> None:
    # Azure answers `exposedHeaders: [""]` for a rule created with none; an array of strings
    # still, so the specs accept it and the emulator may reproduce it.
    interaction = RECORDINGS[CORS][2]
    rule = _rule(interaction.response_body)
    assert rule["exposedHeaders"] == [""]
    assert INDEX.validate(interaction.method, interaction.url, interaction.status, interaction.response_body) == []


def test_the_fixture_check_tolerates_exactly_the_recorded_role_definition_deviation() -> None:
    from .spec_check import arm_problems

    recorded = RECORDINGS[RBAC_409][0]
    entry = {
        "kind": "arm",
        "method": recorded.method,
        "path": urlsplit(recorded.url).path,
        "query": urlsplit(recorded.url).query,
        "status": recorded.status,
        "fault": None,
        "request_body": None,
        "response_body": recorded.response_body,
    }
    assert arm_problems([entry], "https://management.azure.com") == []
    doctored = json.loads(json.dumps(recorded.response_body))
    doctored["value"][0]["properties"]["bogus"] = 1
    problems = arm_problems([{**entry, "response_body": doctored}], "https://management.azure.com")
    assert problems == [
        f"GET {entry['path']} -> 200: response $.value[0].properties.bogus: OBJECT_ADDITIONAL_PROPERTIES: "
        "property 'bogus' is not declared by the schema"
    ]


@pytest.mark.parametrize(
    "url",
    [
        # azure-mgmt-authorization sends an empty parent resource path as a double slash
        "https://h/subscriptions/S/resourcegroups/R/providers/Microsoft.Storage//storageAccounts/a"
        "/providers/Microsoft.Authorization/permissions?api-version=2022-04-01",
        "https://h/subscriptions/S/resourceGroups/R/providers/Microsoft.Storage/storageAccounts/a"
        "/providers/Microsoft.Authorization/permissions?api-version=2022-04-01",
    ],
)
def test_an_empty_parent_resource_path_routes_to_permissions_for_resource(url: str) -> None:
    assert INDEX.find("GET", url).operation_id == "Permissions_ListForResource"
