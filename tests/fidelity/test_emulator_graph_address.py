"""Microsoft Graph on its own address (issue 15, gap 5): a client that takes Graph's URL from the
cloud metadata's microsoftGraphResourceId, the way Azure's clients do for public Azure
(`https://graph.microsoft.com/` + `v1.0/...`, token scope `<resource>/.default`, or only its
host, as the msgraph SDKs' national-cloud setting takes it), reaches Graph with no other option."""
from __future__ import annotations

from urllib.parse import urlsplit

import requests
from azure.identity import ClientSecretCredential

from tests.conftest import CONTOSO, OPERATOR

V7_APP = "95e63529-38cc-435c-b247-32a1d62f321d"


def _credential(emulator) -> ClientSecretCredential:
    return ClientSecretCredential(
        CONTOSO, OPERATOR["client_id"], OPERATOR["secret"], authority=emulator.url,
        disable_instance_discovery=True, connection_verify=emulator.ca_bundle,
    )


def test_graph_is_the_root_of_its_own_address_as_the_metadata_says(emulator):
    metadata = requests.get(emulator.metadata_url, verify=emulator.ca_bundle, timeout=30).json()
    graph = metadata["microsoftGraphResourceId"]
    arm = metadata["resourceManager"]
    assert graph == emulator.graph_url
    # its own host:port, at the root (public Azure: https://graph.microsoft.com/)
    assert urlsplit(graph).netloc != urlsplit(arm).netloc and urlsplit(graph).path == "/"
    token = _credential(emulator).get_token(graph.rstrip("/") + "/.default").token
    host = urlsplit(graph).netloc
    reply = requests.get(
        f"https://{host}/v1.0/servicePrincipals", params={"$filter": f"appId eq '{V7_APP}'"},
        headers={"Authorization": f"Bearer {token}"}, verify=emulator.ca_bundle, timeout=30,
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["@odata.context"] == f"{graph}v1.0/$metadata#servicePrincipals"
    # the request log names Graph's calls the same way on either address
    (entry,) = [e for e in emulator.log(kind="graph") if e["method"] == "GET"]
    assert (entry["path"], entry["status"]) == ("/graph/v1.0/servicePrincipals", 200)


def test_graph_keeps_answering_under_graph_on_arms_address(emulator):
    legacy = emulator.url + "graph/"
    token = _credential(emulator).get_token(legacy + ".default").token
    reply = requests.get(legacy + "v1.0/servicePrincipals", headers={"Authorization": f"Bearer {token}"},
                         verify=emulator.ca_bundle, timeout=30)
    assert reply.status_code == 200, reply.text


def test_graphs_address_serves_graph_only(emulator):
    token = _credential(emulator).get_token(emulator.graph_url + ".default").token
    headers = {"Authorization": f"Bearer {token}"}
    arm_path = requests.get(emulator.graph_url + "subscriptions", params={"api-version": "2022-12-01"},
                            headers=headers, verify=emulator.ca_bundle, timeout=30)
    assert arm_path.status_code == 400 and arm_path.json()["error"]["code"] == "BadRequest"
    # an ARM token is not a Graph token, on Graph's own address either
    arm_token = _credential(emulator).get_token("https://management.core.windows.net/.default").token
    refused = requests.get(emulator.graph_url + "v1.0/servicePrincipals", headers={"Authorization": f"Bearer {arm_token}"},
                           verify=emulator.ca_bundle, timeout=30)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "InvalidAuthenticationToken"
