"""Parsing the recorded azure-cli traffic, and the replay helpers built on it."""
from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any, Callable

import pytest
import yaml

from tests.fidelity.recordings import (
    RECORDINGS_ROOT,
    Interaction,
    classify,
    load_recording,
    parse_body,
    recording_paths,
)
from tests.fidelity.replay import (
    compare,
    error_code,
    key_paths,
    map_json,
    map_text,
    map_url,
    replay_requests,
)

RBAC_409 = "azure-cli_test_create_for_rbac_idempotent.EXCERPT-arm-role-assignment-409.yaml"
AT_SCOPE = "azure-cli_test_role_assignment_at_scope.yaml"
SP = "azure-cli_test_service_principal_scenario.yaml"
CORS = "azure-cli_test_storage_account_blob_cors_rule.yaml"
RETENTION = "azure-cli_test_storage_account_update_delete_retention_policy.yaml"

RECORDINGS = {path.name: load_recording(path) for path in recording_paths()}
ZERO_SUB = "00000000-0000-0000-0000-000000000000"
ARM = {"https://management.azure.com": "https://127.0.0.1:8443"}
ARM_AND_GRAPH = {**ARM, "https://graph.microsoft.com": "https://127.0.0.1:8443"}


# --------------------------------------------------------------------------- parsing


def test_every_recording_is_present() -> None:
    assert sorted(RECORDINGS) == sorted([RBAC_409, AT_SCOPE, SP, CORS, RETENTION])


@pytest.mark.parametrize(
    ("recording", "kinds"),
    [
        (RBAC_409, {"arm": 4}),
        (AT_SCOPE, {"arm": 4}),
        (SP, {"graph": 20}),
        (CORS, {"arm": 6}),
        (RETENTION, {"arm": 8}),
    ],
)
def test_recordings_parse_into_interactions(recording: str, kinds: dict[str, int]) -> None:
    assert Counter(i.kind for i in RECORDINGS[recording]) == kinds


@pytest.mark.parametrize("path", recording_paths(), ids=lambda p: p.name)
def test_recorded_bodies_match_their_content_length(path: Any) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    checked = 0
    for item in raw:
        length = item["response"]["headers"].get("content-length")
        if length:
            assert len(item["response"]["body"]["string"].encode("utf-8")) == int(length[0])
            checked += 1
    assert checked > 0


def test_interaction_fields() -> None:
    put = RECORDINGS[RBAC_409][1]
    assert put.method == "PUT"
    assert put.url.startswith(f"https://management.azure.com/subscriptions/{ZERO_SUB}/providers/")
    assert put.request_body["properties"]["principalType"] == "ServicePrincipal"
    assert put.request_headers["content-type"] == "application/json; charset=utf-8"
    assert put.request_headers["user-agent"].startswith("python/3.9.5")
    assert put.status == 201
    assert put.response_headers["x-ms-ratelimit-remaining-subscription-writes"] == "1199"
    assert put.response_body["name"] == "88888888-0000-0000-0000-000000000002"

    conflict = RECORDINGS[RBAC_409][3]
    assert conflict.status == 409
    assert conflict.response_body == {
        "error": {"code": "RoleAssignmentExists", "message": "The role assignment already exists."}
    }


def test_graph_interactions_keep_empty_and_error_bodies() -> None:
    interactions = RECORDINGS[SP]
    deletes = [i for i in interactions if i.method == "DELETE"]
    assert [(i.status, i.response_body) for i in deletes] == [(204, None), (204, None)]
    not_found = [i for i in interactions if i.status == 404]
    assert len(not_found) == 3
    assert {error_code(i.response_body) for i in not_found} == {"Request_ResourceNotFound"}
    assert all(i.request_body is None for i in interactions if i.method == "GET")


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://management.azure.com/subscriptions/S/providers/Microsoft.Storage/storageAccounts", "arm"),
        ("https://management.usgovcloudapi.net/providers/Microsoft.Authorization/roleDefinitions/x", "arm"),
        ("https://graph.microsoft.com/v1.0/servicePrincipals", "graph"),
        ("https://graph.windows.net/t/servicePrincipals", "graph"),
        ("https://login.microsoftonline.com/t/oauth2/v2.0/token", "token"),
        ("https://login.microsoftonline.com/common/discovery/instance?api-version=1.1", "token"),
        # A loopback emulator serving everything on one host: classified by path.
        ("https://127.0.0.1:8443/subscriptions/S/resourceGroups/R", "arm"),
        ("https://127.0.0.1:8443/providers/Microsoft.Authorization/roleDefinitions/x", "arm"),
        ("https://127.0.0.1:8443/v1.0/servicePrincipals(appId='x')", "graph"),
        ("https://127.0.0.1:8443/tenant-id/oauth2/v2.0/token", "token"),
        ("https://127.0.0.1:8443/tenant-id/v2.0/.well-known/openid-configuration", "token"),
        ("https://127.0.0.1:8443/metadata/endpoints?api-version=2022-09-01", "other"),
    ],
)
def test_classify(url: str, kind: str) -> None:
    assert classify(url) == kind


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (None, None),
        ("", None),
        ({"string": ""}, None),
        ({"string": '{"a": [1]}'}, {"a": [1]}),
        ('{"properties": {}}', {"properties": {}}),
        (b'{"value": []}', {"value": []}),
        ("grant_type=client_credentials&scope=x", "grant_type=client_credentials&scope=x"),
    ],
)
def test_parse_body(raw: Any, parsed: Any) -> None:
    assert parse_body(raw) == parsed


def test_load_recording_reads_a_minimal_cassette(tmp_path: Any) -> None:
    cassette = {
        "interactions": [{
            "request": {"body": None, "headers": {"Accept": ["application/json"], "X-Two": ["a", "b"]},
                        "method": "get", "uri": "https://graph.microsoft.com/v1.0/servicePrincipals/x"},
            "response": {"body": {"string": '{"error": {"code": "Request_ResourceNotFound"}}'},
                         "headers": {"Content-Type": ["application/json"]},
                         "status": {"code": 404, "message": "Not Found"}},
        }],
        "version": 1,
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cassette), encoding="utf-8")
    assert load_recording(path) == [Interaction(
        method="GET",
        url="https://graph.microsoft.com/v1.0/servicePrincipals/x",
        request_headers={"accept": "application/json", "x-two": "a, b"},
        request_body=None,
        status=404,
        response_headers={"content-type": "application/json"},
        response_body={"error": {"code": "Request_ResourceNotFound"}},
    )]
    assert recording_paths(tmp_path) == [path]
    assert RECORDINGS_ROOT.is_dir()


# --------------------------------------------------------------------------- identifier mapping


CORS_MAPPING = {
    ZERO_SUB: "11111111-2222-3333-4444-555555555555",
    "cli_test_sa_blob_cors000001": "rg-v7",
    "clitest000002": "stv7",
}


def test_replay_requests_map_urls_and_bodies() -> None:
    requests = replay_requests(RECORDINGS[CORS], CORS_MAPPING, ARM)
    assert [r.method for r in requests] == ["GET", "PUT", "GET", "GET", "PUT", "GET"]
    assert requests[0].url == (
        "https://127.0.0.1:8443/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-v7"
        "/providers/Microsoft.Storage/storageAccounts/stv7/blobServices/default?api-version=2025-01-01"
    )
    assert requests[0].body is None
    assert requests[0].headers == {"Accept": "application/json"}
    assert requests[1].headers == {"Accept": "application/json", "Content-Type": "application/json"}
    assert requests[1].body == RECORDINGS[CORS][1].request_body  # no identifiers in that body
    assert requests[1].expected.response_body["id"] == (
        "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-v7"
        "/providers/Microsoft.Storage/storageAccounts/stv7/blobServices/default"
    )
    everything = json.dumps([(r.url, r.body, r.expected.url, r.expected.response_body) for r in requests])
    for recorded in CORS_MAPPING:
        assert recorded not in everything
    assert all(r.expected.status == 200 for r in requests)


def test_replay_requests_map_ids_inside_bodies_and_queries() -> None:
    mapping = {
        ZERO_SUB: "sub-e",
        "cli_role_assign000001": "rg-e",
        "88c53162-584e-4c98-984b-62149c2e9bca": "principal-e",
        "88888888-0000-0000-0000-000000000001": "assignment-e",
    }
    requests = replay_requests(RECORDINGS[AT_SCOPE], mapping, ARM)
    put = requests[1]
    assert put.url == ("https://127.0.0.1:8443/subscriptions/sub-e/resourceGroups/rg-e/providers/"
                       "Microsoft.Authorization/roleAssignments/assignment-e?api-version=2022-04-01")
    assert put.body["properties"]["principalId"] == "principal-e"
    assert put.body["properties"]["roleDefinitionId"].startswith("/subscriptions/sub-e/providers/")
    assert "principalId%20eq%20'principal-e'" in requests[2].url


def test_replay_requests_filter_kinds_and_refuse_unknown_origins() -> None:
    assert replay_requests(RECORDINGS[SP], {}, ARM, kinds=("arm",)) == []
    graph = replay_requests(RECORDINGS[SP], {}, ARM_AND_GRAPH, kinds=("graph",))
    assert len(graph) == 20
    assert graph[3].url == "https://127.0.0.1:8443/v1.0/servicePrincipals"
    with pytest.raises(ValueError, match="graph.microsoft.com"):
        replay_requests(RECORDINGS[SP], {}, ARM, kinds=("graph",))


@pytest.mark.parametrize(
    ("text", "mapping", "expected"),
    [
        ("/resourcegroups/CLI_TEST000001/x", {"cli_test000001": "rg"}, "/resourcegroups/rg/x"),
        ("clitest000002 clitest00000", {"clitest00000": "short", "clitest000002": "long"}, "long short"),
        ("api-version=2018-01-01-preview", {"api-version=2018-01-01-preview": "api-version=2022-04-01"},
         "api-version=2022-04-01"),
        ("untouched", {}, "untouched"),
    ],
)
def test_map_text(text: str, mapping: dict[str, str], expected: str) -> None:
    assert map_text(text, mapping) == expected


@pytest.mark.parametrize("mapping", [{"a": "1", "A": "2"}, {"": "x"}])
def test_map_text_rejects_ambiguous_mappings(mapping: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        map_text("a", mapping)


def test_map_json_maps_keys_and_values_and_leaves_other_types() -> None:
    value = {"userAssignedIdentities": {"/subscriptions/S/x/id1": {"principalId": "p1"}},
             "count": 3, "flag": None, "list": ["p1", 2]}
    assert map_json(value, {"id1": "ID", "p1": "P"}) == {
        "userAssignedIdentities": {"/subscriptions/S/x/ID": {"principalId": "P"}},
        "count": 3, "flag": None, "list": ["P", 2],
    }


def test_map_url_keeps_the_path_case_and_rewrites_the_origin() -> None:
    url = "https://Management.Azure.com/subscriptions/SUB-A/providers/Microsoft.Storage/storageAccounts?api-version=1"
    assert map_url(url, {"sub-a": "sub-b"}, {"https://management.azure.com/": "https://127.0.0.1:8443/"}) == (
        "https://127.0.0.1:8443/subscriptions/sub-b/providers/Microsoft.Storage/storageAccounts?api-version=1"
    )


# --------------------------------------------------------------------------- comparing replies


ALL_INTERACTIONS = [(name, index) for name, items in sorted(RECORDINGS.items()) for index in range(len(items))]


@pytest.mark.parametrize(("recording", "index"), ALL_INTERACTIONS)
def test_a_recording_agrees_with_itself(recording: str, index: int) -> None:
    recorded = RECORDINGS[recording][index]
    assert compare(recorded, recorded.status, copy.deepcopy(recorded.response_body)) == []


def test_compare_accepts_raw_json_text() -> None:
    recorded = RECORDINGS[CORS][1]
    assert compare(recorded, 200, json.dumps(recorded.response_body)) == []
    assert compare(RECORDINGS[SP][11], 204, "") == []


def _doctor(edit: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(body: Any) -> Any:
        body = copy.deepcopy(body)
        return edit(body)
    return apply


def _without_sku(body: dict) -> dict:
    del body["sku"]
    return body


def _extra_rule_key(body: dict) -> dict:
    body["properties"]["cors"]["corsRules"][0]["bogus"] = 1
    return body


def _second_rule_without_headers(body: dict) -> dict:
    rules = body["properties"]["cors"]["corsRules"]
    rules.append({key: value for key, value in rules[0].items() if key != "allowedHeaders"})
    return body


def _first_rule_without_headers(body: dict) -> dict:
    del body["properties"]["cors"]["corsRules"][0]["allowedHeaders"]
    return body


def _values_changed(body: dict) -> dict:
    body["properties"]["cors"]["corsRules"][0]["maxAgeInSeconds"] = 1
    body["id"] = "/elsewhere"
    return body


@pytest.mark.parametrize(
    ("recording", "index", "status", "doctor", "expected"),
    [
        (CORS, 2, 200, _doctor(_values_changed), []),
        (CORS, 2, 200, _doctor(_without_sku),
         ["key $.sku: recorded, missing from the reply", "key $.sku.name: recorded, missing from the reply",
          "key $.sku.tier: recorded, missing from the reply"]),
        (CORS, 2, 200, _doctor(_extra_rule_key),
         ["key $.properties.cors.corsRules[].bogus: in the reply, not recorded"]),
        # Lists compare by the union of their items' keys: a second, poorer rule hides nothing.
        (CORS, 2, 200, _doctor(_second_rule_without_headers), []),
        (CORS, 2, 200, _doctor(_first_rule_without_headers),
         ["key $.properties.cors.corsRules[].allowedHeaders: recorded, missing from the reply"]),
        (CORS, 2, 500, _doctor(lambda body: body), ["status: recorded 200, got 500"]),
        (RBAC_409, 1, 200, _doctor(lambda body: body), ["status: recorded 201, got 200"]),
        (RBAC_409, 3, 409, _doctor(lambda body: {"error": {"code": "Conflict", "message": "x"}}),
         ["error.code: recorded 'RoleAssignmentExists', got 'Conflict'"]),
        (RBAC_409, 3, 201, _doctor(lambda body: RECORDINGS[RBAC_409][1].response_body),
         ["status: recorded 409, got 201",
          "error.code: recorded 'RoleAssignmentExists', got None",
          "key $.error: recorded, missing from the reply", "key $.error.code: recorded, missing from the reply",
          "key $.error.message: recorded, missing from the reply"]
         + [f"key {p}: in the reply, not recorded" for p in sorted(key_paths(RECORDINGS[RBAC_409][1].response_body))]),
        (SP, 11, 204, _doctor(lambda body: {"id": "x"}),
         ["body: recorded no body, got one", "key $.id: in the reply, not recorded"]),
        (SP, 15, 404, _doctor(lambda body: None),
         ["error.code: recorded 'Request_ResourceNotFound', got None", "body: recorded a body, got none",
          "key $.error: recorded, missing from the reply", "key $.error.code: recorded, missing from the reply",
          "key $.error.innerError: recorded, missing from the reply",
          "key $.error.innerError.date: recorded, missing from the reply",
          'key $.error.innerError["client-request-id"]: recorded, missing from the reply',
          'key $.error.innerError["request-id"]: recorded, missing from the reply',
          "key $.error.message: recorded, missing from the reply"]),
    ],
)
def test_compare_finds_doctored_replies(
    recording: str, index: int, status: int, doctor: Callable[[Any], Any], expected: list[str]
) -> None:
    recorded = RECORDINGS[recording][index]
    assert compare(recorded, status, doctor(recorded.response_body)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, set()),
        ([], set()),
        ("text", set()),
        ({"a": {"b": 1}, "c": []}, {"$.a", "$.a.b", "$.c"}),
        ({"value": [{"id": 1}, {"name": 2}, 3]}, {"$.value", "$.value[].id", "$.value[].name"}),
        ([[{"x": 1}]], {"$[][].x"}),
        ({"@odata.context": "u"}, {'$["@odata.context"]'}),
    ],
)
def test_key_paths(value: Any, expected: set[str]) -> None:
    assert key_paths(value) == expected


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"error": {"code": "RoleAssignmentExists", "message": "m"}}, "RoleAssignmentExists"),
        ({"error": {"message": "m"}}, None),
        ({"error": "invalid_client", "error_description": "d"}, "invalid_client"),
        ({"value": []}, None),
        (None, None),
        ([], None),
    ],
)
def test_error_code(body: Any, code: str | None) -> None:
    assert error_code(body) == code
