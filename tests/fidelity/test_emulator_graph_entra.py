"""Entra's token endpoint and Graph's servicePrincipals as the emulator serves them."""
from __future__ import annotations

import base64
import json
import time

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientAssertionCredential, ClientSecretCredential

from tests.conftest import CONTOSO, OPERATOR

from .conftest import ARM_SCOPE, Client

V7_APP = "95e63529-38cc-435c-b247-32a1d62f321d"


def _jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _token_request(emulator, tenant=CONTOSO, **form):
    return requests.post(
        f"{emulator.url}{tenant}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": ARM_SCOPE, **form},
        verify=emulator.ca_bundle,
    )


def test_tokens_carry_tenant_object_id_and_audience(emulator):
    cred = ClientSecretCredential(
        CONTOSO, OPERATOR["client_id"], OPERATOR["secret"], authority=emulator.url, disable_instance_discovery=True, connection_verify=emulator.ca_bundle
    )
    arm_claims = _jwt_claims(cred.get_token(ARM_SCOPE).token)
    graph_claims = _jwt_claims(cred.get_token(emulator.graph_url + ".default").token)
    assert arm_claims["tid"] == CONTOSO and arm_claims["oid"] == OPERATOR["object_id"]
    assert arm_claims["aud"] == "https://management.core.windows.net/"
    assert graph_claims["aud"] == emulator.graph_url


@pytest.mark.parametrize(
    "tenant, form, status, error, aadsts",
    [
        (CONTOSO, {"client_id": OPERATOR["client_id"], "client_secret": "wrong"}, 401, "invalid_client", 7000215),
        (CONTOSO, {"client_id": "aaaaaaaa-0000-4000-8000-00000000ffff", "client_secret": "x"}, 400, "unauthorized_client", 700016),
        ("99999999-0000-4000-8000-000000000000", {"client_id": OPERATOR["client_id"], "client_secret": "x"}, 400, "invalid_tenant", 90002),
        (CONTOSO, {"client_id": OPERATOR["client_id"]}, 401, "invalid_client", 7000218),
        (
            CONTOSO,
            {"client_id": OPERATOR["client_id"], "client_secret": OPERATOR["secret"], "scope": "https://vault.azure.net/.default"},
            400,
            "invalid_resource",
            500011,
        ),
    ],
)
def test_token_errors_use_entra_bodies(emulator, tenant, form, status, error, aadsts):
    reply = _token_request(emulator, tenant, **form)
    body = reply.json()
    assert (reply.status_code, body["error"], body["error_codes"]) == (status, error, [aadsts])
    assert body["error_description"].startswith(f"AADSTS{aadsts}: ")
    assert "trace_id" in body and "correlation_id" in body


def test_wrong_secret_surfaces_in_azure_identity_without_the_secret(emulator):
    cred = ClientSecretCredential(
        CONTOSO, OPERATOR["client_id"], "not-the-secret-123", authority=emulator.url, disable_instance_discovery=True, connection_verify=emulator.ca_bundle
    )
    with pytest.raises(ClientAuthenticationError) as caught:
        cred.get_token(ARM_SCOPE)
    assert "AADSTS7000215" in str(caught.value)
    assert "not-the-secret-123" not in str(caught.value)


def _assertion(iss: str, sub: str, aud: str = "api://AzureADTokenExchange") -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part({'iss': iss, 'sub': sub, 'aud': aud, 'iat': now, 'exp': now + 600})}.c2ln"


def test_workload_identity_assertion(emulator):
    good = _assertion("https://token.actions.example.test", "repo:contoso/platform:ref:refs/heads/main")
    cred = ClientAssertionCredential(
        CONTOSO, OPERATOR["client_id"], lambda: good, authority=emulator.url, disable_instance_discovery=True, connection_verify=emulator.ca_bundle
    )
    assert _jwt_claims(cred.get_token(ARM_SCOPE).token)["oid"] == OPERATOR["object_id"]
    bad = _token_request(
        emulator,
        client_id=OPERATOR["client_id"],
        client_assertion=_assertion("https://token.actions.example.test", "repo:evil/fork:ref:refs/heads/main"),
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    )
    assert bad.status_code == 400 and bad.json()["error_codes"] == [70021]


def test_openid_configuration_for_known_and_unknown_tenants(emulator):
    good = requests.get(f"{emulator.url}{CONTOSO}/v2.0/.well-known/openid-configuration", verify=emulator.ca_bundle)
    assert good.json()["token_endpoint"] == f"{emulator.url}{CONTOSO}/oauth2/v2.0/token"
    bad = requests.get(f"{emulator.url}00000000-0000-4000-8000-000000000000/v2.0/.well-known/openid-configuration", verify=emulator.ca_bundle)
    assert bad.status_code == 400


def test_cloud_metadata_in_the_shape_of_each_api_version(emulator):
    """2022-09-01: one object (azure-cli's `az cloud register` reads it so); 2019-05-01: a list of
    clouds (azure-cli's ARM_CLOUD_METADATA_URL); 2015-01-01: the old Azure Stack object, with no
    resourceManager. See the comment above arm.metadata_endpoints for the sources."""
    new = requests.get(emulator.metadata_url, verify=emulator.ca_bundle).json()
    assert isinstance(new, dict) and new["resourceManager"] == emulator.url
    assert new["authentication"]["loginEndpoint"] == emulator.url.rstrip("/")
    assert new["authentication"]["audiences"][0] == "https://management.core.windows.net/"
    assert new["microsoftGraphResourceId"] == emulator.graph_url
    assert new["suffixes"]["storage"] == "core.windows.net" and new["name"] == "AzureEmulator"
    listed = requests.get(emulator.cloud_list_url, verify=emulator.ca_bundle).json()
    assert emulator.cloud_list_url.endswith("api-version=2019-05-01")
    assert isinstance(listed, list) and listed == [new]
    assert requests.get(emulator.url + "metadata/endpoints?api-version=2020-06-01", verify=emulator.ca_bundle).json() == [new]
    old = requests.get(emulator.url + "metadata/endpoints?api-version=2015-01-01", verify=emulator.ca_bundle).json()
    assert set(old) == {"galleryEndpoint", "graphEndpoint", "graphAudience", "portalEndpoint", "authentication"}
    assert old["authentication"] == {"loginEndpoint": emulator.url, "audiences": new["authentication"]["audiences"]}


def test_service_principal_lifecycle(graph):
    empty = graph.call("GET", "/servicePrincipals", api_version=None, **{"$filter": f"appId eq '{V7_APP}'"})
    assert empty.status_code == 200 and empty.json()["value"] == []
    assert empty.headers["Content-Type"].startswith("application/json;odata.metadata=minimal")
    missing = graph.call("GET", f"/servicePrincipals(appId='{V7_APP}')", api_version=None)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"
    assert missing.headers["Content-Type"] == "application/json"
    assert missing.headers["request-id"] == missing.json()["error"]["innerError"]["request-id"]
    created = graph.call("POST", "/servicePrincipals", {"appId": V7_APP}, api_version=None)
    assert created.status_code == 201
    sp = created.json()
    assert created.headers["Location"].endswith(f"/directoryObjects/{sp['id']}/Microsoft.DirectoryServices.ServicePrincipal")
    assert sp["appId"] == V7_APP and sp["displayName"] == "darwin-storage"
    conflict = graph.call("POST", "/servicePrincipals", {"appId": V7_APP}, api_version=None)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "Request_MultipleObjectsWithSameKeyValue"
    assert graph.call("GET", f"/servicePrincipals/{sp['id']}", api_version=None).json()["id"] == sp["id"]
    assert graph.call("DELETE", f"/servicePrincipals/{sp['id']}", api_version=None).status_code == 204
    assert graph.call("GET", f"/servicePrincipals/{sp['id']}", api_version=None).status_code == 404


@pytest.mark.parametrize("app_id", ["3b7e4c35-0000-4000-8000-000000000bad", "0b1c2d3e-0000-4000-8000-00000000a11e"])
def test_app_that_is_no_multi_tenant_application(graph, app_id):
    reply = graph.call("POST", "/servicePrincipals", {"appId": app_id}, api_version=None)
    assert reply.status_code == 400
    assert "does not reference a valid application object" in reply.json()["error"]["message"]


def test_graph_refuses_a_caller_without_permission(auditor_graph):
    reply = auditor_graph.call("POST", "/servicePrincipals", {"appId": V7_APP}, api_version=None)
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "Authorization_RequestDenied"
    assert auditor_graph.call("GET", "/servicePrincipals", api_version=None).status_code == 200


def test_graph_refuses_an_arm_token(emulator):
    client = Client(emulator, OPERATOR, scope=ARM_SCOPE)
    client.base = emulator.graph_url + "v1.0"
    reply = client.call("GET", "/servicePrincipals", api_version=None)
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_new_principal_invisible_during_graph_delay(emulator, graph):
    emulator.faults(graph_visibility_seconds=1)
    sp = graph.call("POST", "/servicePrincipals", {"appId": V7_APP}, api_version=None).json()
    assert graph.call("GET", f"/servicePrincipals/{sp['id']}", api_version=None).status_code == 404
    assert graph.call("POST", "/servicePrincipals", {"appId": V7_APP}, api_version=None).status_code == 409
    time.sleep(1.2)
    assert graph.call("GET", f"/servicePrincipals(appId='{V7_APP}')", api_version=None).status_code == 200
