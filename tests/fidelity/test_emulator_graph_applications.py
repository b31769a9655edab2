"""Graph calls of Azure's own clients beyond the collection's (issue 15, gap 2): applications,
directoryObjects/getByIds and servicePrincipals by servicePrincipalNames.

The recorded traffic of these calls is replayed in test_replay.py
(recordings/azure-cli_test_service_principal_scenario.yaml, every interaction)."""
from __future__ import annotations

from tests.conftest import OPERATOR

V7_APP = "95e63529-38cc-435c-b247-32a1d62f321d"
STORAGE_ADMIN = "cccccccc-0000-4000-8000-0000000000c1"


def test_sp_create_the_guides_way_looks_the_app_up_first(emulator, graph):
    """`az ad sp create --id <V7's app id>`: the id is not an application of this tenant (200 with
    an empty list, then 404 by id), so the service principal is created from the appId."""
    listed = graph.call("GET", "/applications", api_version=None, **{"$filter": f"appId eq '{V7_APP}'"})
    assert listed.status_code == 200
    assert listed.json() == {"@odata.context": emulator.graph_url + "v1.0/$metadata#applications", "value": []}
    by_id = graph.call("GET", f"/applications/{V7_APP}", api_version=None)
    assert by_id.status_code == 404
    assert by_id.json()["error"]["code"] == "Request_ResourceNotFound"
    assert by_id.json()["error"]["message"] == (
        f"Resource '{V7_APP}' does not exist or one of its queried reference-property objects are not present."
    )
    created = graph.call("POST", "/servicePrincipals", {"appId": V7_APP}, api_version=None)
    assert created.status_code == 201
    by_name = graph.call(
        "GET", "/servicePrincipals", api_version=None, **{"$filter": f"servicePrincipalNames/any(c:c eq '{V7_APP}')"}
    )
    assert [sp["id"] for sp in by_name.json()["value"]] == [created.json()["id"]]


def test_application_lifecycle_in_the_callers_tenant(emulator, graph):
    created = graph.call(
        "POST", "/applications", {"displayName": "contoso-tool", "identifierUris": ["api://contoso-tool"]}, api_version=None
    )
    assert created.status_code == 201, created.text
    app = created.json()
    assert app["@odata.context"].endswith("$metadata#applications/$entity")
    assert (app["displayName"], app["identifierUris"], app["publisherDomain"]) == (
        "contoso-tool", ["api://contoso-tool"], "contoso.onmicrosoft.com"
    )
    for query in (
        f"appId eq '{app['appId']}'",
        "startswith(displayName,'contoso-')",
        "displayName eq 'contoso-tool'",
        "identifierUris/any(x:x eq 'api://contoso-tool')",
    ):
        listed = graph.call("GET", "/applications", api_version=None, **{"$filter": query})
        assert [a["id"] for a in listed.json()["value"]] == [app["id"]], query
    assert graph.call("GET", f"/applications/{app['id']}", api_version=None).json()["appId"] == app["appId"]
    # an application's appId is not its object id
    assert graph.call("GET", f"/applications/{app['appId']}", api_version=None).status_code == 404
    sp = graph.call("POST", "/servicePrincipals", {"appId": app["appId"]}, api_version=None).json()
    assert sp["servicePrincipalNames"] == [app["appId"], "api://contoso-tool"]
    # deleting the application deletes its service principal in its home tenant
    assert graph.call("DELETE", f"/applications/{app['id']}", api_version=None).status_code == 204
    assert graph.call("GET", f"/servicePrincipals/{sp['id']}", api_version=None).status_code == 404
    assert graph.call("GET", f"/applications/{app['id']}", api_version=None).status_code == 404


def test_applications_need_read_rights_and_a_supported_filter(emulator, graph, auditor_graph):
    assert auditor_graph.call("GET", "/applications", api_version=None).status_code == 200
    refused = auditor_graph.call("POST", "/applications", {"displayName": "x"}, api_version=None)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "Authorization_RequestDenied")
    bad = graph.call("GET", "/applications", api_version=None, **{"$filter": "notes eq 'x'"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "Request_UnsupportedQuery")


def test_get_by_ids_resolves_principals_and_is_not_a_write(emulator, graph):
    sp = graph.call("POST", "/servicePrincipals", {"appId": V7_APP}, api_version=None).json()
    since = emulator.log(bodies=False)[-1]["seq"]
    unknown = "dddddddd-0000-4000-8000-0000000000d1"
    reply = graph.call(
        "POST", "/directoryObjects/getByIds", {"ids": [sp["id"], STORAGE_ADMIN, OPERATOR["object_id"], unknown]}, api_version=None
    )
    assert reply.status_code == 200
    body = reply.json()
    assert body["@odata.context"] == emulator.graph_url + "v1.0/$metadata#directoryObjects"
    found = {o["id"]: o for o in body["value"]}
    assert set(found) == {sp["id"], STORAGE_ADMIN, OPERATOR["object_id"]}
    assert found[sp["id"]]["@odata.type"] == "#microsoft.graph.servicePrincipal"
    assert found[sp["id"]]["appId"] == V7_APP
    assert found[OPERATOR["object_id"]]["appId"] == OPERATOR["client_id"]
    assert found[STORAGE_ADMIN]["@odata.type"] == "#microsoft.graph.user"
    assert found[STORAGE_ADMIN]["userPrincipalName"] == "storageadmin@contoso.onmicrosoft.com"
    only_users = graph.call(
        "POST", "/directoryObjects/getByIds", {"ids": [sp["id"], STORAGE_ADMIN], "types": ["user"]}, api_version=None
    )
    assert [o["id"] for o in only_users.json()["value"]] == [STORAGE_ADMIN]
    assert emulator.writes(since) == []
