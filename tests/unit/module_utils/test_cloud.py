"""Cloud endpoints: the named clouds, the metadata's three shapes (2022-09-01 one object, 2019-05-01
a list of clouds, 2015-01-01 the Azure Stack object), scopes, URL and document errors."""
from __future__ import annotations

import json

import pytest

from ansible_collections.v7labs.azure_storage.plugins.module_utils import cloud
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cloud import (
    BUILTIN_CLOUDS,
    metadata_request_url,
    parse_metadata,
    resolve_cloud,
    scope_for,
)
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureConfigError


@pytest.mark.parametrize(
    ("name", "arm", "login", "arm_scope", "graph", "graph_scope"),
    [
        ("AzureCloud", "https://management.azure.com/", "https://login.microsoftonline.com",
         "https://management.azure.com/.default", "https://graph.microsoft.com/", "https://graph.microsoft.com/.default"),
        ("azurechinacloud", "https://management.chinacloudapi.cn/", "https://login.chinacloudapi.cn",
         "https://management.chinacloudapi.cn/.default", "https://microsoftgraph.chinacloudapi.cn/",
         "https://microsoftgraph.chinacloudapi.cn/.default"),
        ("AzureUSGovernment", "https://management.usgovcloudapi.net/", "https://login.microsoftonline.us",
         "https://management.usgovcloudapi.net/.default", "https://graph.microsoft.us/", "https://graph.microsoft.us/.default"),
    ],
)
def test_named_clouds(name, arm, login, arm_scope, graph, graph_scope):
    endpoints = resolve_cloud(name)
    assert (endpoints.resource_manager, endpoints.authority_host, endpoints.arm_scope) == (arm, login, arm_scope)
    assert (endpoints.graph_endpoint, endpoints.graph_scope) == (graph, graph_scope)
    assert endpoints.known_authority is True
    assert endpoints.graph_url("servicePrincipals") == graph + "v1.0/servicePrincipals"


def test_unknown_cloud_name_lists_the_choices():
    with pytest.raises(AzureConfigError) as caught:
        resolve_cloud("AzureGermanCloud")
    for needle in ["AzureGermanCloud", "AzureCloud", "AzureChinaCloud", "AzureUSGovernment", "AZURE_CLOUD_ENVIRONMENT"]:
        assert needle in str(caught.value)


@pytest.mark.parametrize(
    ("audience", "scope"),
    [
        ("https://management.core.windows.net/", "https://management.core.windows.net/.default"),
        ("https://management.core.windows.net", "https://management.core.windows.net/.default"),
        ("https://management.azure.com//", "https://management.azure.com/.default"),
        ("https://127.0.0.1:8443/graph/", "https://127.0.0.1:8443/graph/.default"),
        ("https://management.adfs.azurestack.local/4de154de-f8a8-4017-af41-df619da68155",
         "https://management.adfs.azurestack.local/4de154de-f8a8-4017-af41-df619da68155/.default"),
    ],
)
def test_scope_for(audience, scope):
    assert scope_for(audience) == scope
    assert "//.default" not in scope_for(audience)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://127.0.0.1:8443/metadata/endpoints", "https://127.0.0.1:8443/metadata/endpoints?api-version=2022-09-01"),
        ("https://h/metadata/endpoints?api-version=2019-05-01", "https://h/metadata/endpoints?api-version=2019-05-01"),
        ("https://h/metadata/endpoints?x=1", "https://h/metadata/endpoints?x=1&api-version=2022-09-01"),
        ("  https://h/metadata/endpoints  ", "https://h/metadata/endpoints?api-version=2022-09-01"),
    ],
)
def test_metadata_request_url(given, expected):
    assert metadata_request_url(given) == expected


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/metadata/endpoints", "ftp://h/metadata", "https:///metadata"])
def test_metadata_url_must_be_https(url):
    with pytest.raises(AzureConfigError) as caught:
        resolve_cloud(url)
    assert "https" in str(caught.value) and "cloud_environment" in str(caught.value)


def _cloud_entry(host: str, *, graph: str | None = "auto", login: str | None = None, audiences=None, name="Custom") -> dict:
    entry = {
        "name": name,
        "resourceManager": f"https://{host}/",
        "authentication": {
            "loginEndpoint": login or f"https://{host}/",
            "audiences": audiences if audiences is not None else [f"https://{host}/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "suffixes": {"storage": "core.emulator.test"},
        "portal": f"https://{host}/portal",
    }
    if graph == "auto":
        entry["microsoftGraphResourceId"] = f"https://{host}/graph/"
    elif graph is not None:
        entry["microsoftGraphResourceId"] = graph
    return entry


EMULATOR_URL = "https://127.0.0.1:8443/metadata/endpoints?api-version=2022-09-01"


def test_2019_list_format_picks_the_entry_of_the_urls_host():
    document = [_cloud_entry("other.example:8443", name="Other"), _cloud_entry("127.0.0.1:8443", name="Emulator")]
    endpoints = parse_metadata(json.dumps(document), EMULATOR_URL)
    assert endpoints.name == "Emulator"
    assert endpoints.resource_manager == "https://127.0.0.1:8443/"
    assert endpoints.authority_host == "https://127.0.0.1:8443"
    assert endpoints.arm_scope == "https://127.0.0.1:8443/.default"
    assert endpoints.graph_endpoint == "https://127.0.0.1:8443/graph/"
    assert endpoints.graph_scope == "https://127.0.0.1:8443/graph/.default"
    assert endpoints.graph_url("servicePrincipals(appId='x')") == "https://127.0.0.1:8443/graph/v1.0/servicePrincipals(appId='x')"
    assert endpoints.known_authority is False


def test_2019_list_format_falls_back_to_the_first_entry():
    document = [_cloud_entry("first.example", name="First"), _cloud_entry("second.example", name="Second")]
    assert parse_metadata(document, EMULATOR_URL).name == "First"


# Public Azure's cloud in the metadata's new shape, as the endpoint serves it for api-version
# 2022-09-01 (one object) and inside the list it serves for 2019-05-01 (abridged: the suffixes and
# the other resource ids are left out; the parser reads none of them).
PUBLIC_AZURE = {
    "portal": "https://portal.azure.com",
    "authentication": {
        "loginEndpoint": "https://login.microsoftonline.com",
        "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
        "tenant": "common",
        "identityProvider": "AAD",
    },
    "graphAudience": "https://graph.windows.net/",
    "graph": "https://graph.windows.net/",
    "name": "AzureCloud",
    "suffixes": {"storage": "core.windows.net", "keyVaultDns": "vault.azure.net"},
    "resourceManager": "https://management.azure.com/",
    "microsoftGraphResourceId": "https://graph.microsoft.com/",
}
AZURE_CHINA = {
    **PUBLIC_AZURE,
    "name": "AzureChinaCloud",
    "authentication": {**PUBLIC_AZURE["authentication"], "loginEndpoint": "https://login.chinacloudapi.cn",
                       "audiences": ["https://management.core.chinacloudapi.cn", "https://management.chinacloudapi.cn"]},
    "resourceManager": "https://management.chinacloudapi.cn",
    "microsoftGraphResourceId": "https://microsoftgraph.chinacloudapi.cn",
}
AZURE_US_GOV = {
    **PUBLIC_AZURE,
    "name": "AzureUSGovernment",
    "authentication": {**PUBLIC_AZURE["authentication"], "loginEndpoint": "https://login.microsoftonline.us",
                       "audiences": ["https://management.core.usgovcloudapi.net", "https://management.usgovcloudapi.net"]},
    "resourceManager": "https://management.usgovcloudapi.net",
    "microsoftGraphResourceId": "https://graph.microsoft.us/",
}


def _assert_public_azure(endpoints):
    assert endpoints.name == "AzureCloud"
    assert endpoints.resource_manager == "https://management.azure.com/"
    assert endpoints.arm_scope == "https://management.core.windows.net/.default"
    assert endpoints.graph_endpoint == "https://graph.microsoft.com/"
    assert endpoints.authority_host == "https://login.microsoftonline.com"
    assert endpoints.known_authority is True


def test_2022_single_object_of_public_azure():
    """api-version 2022-09-01 answers one object, the cloud asked for (not a list)."""
    url = "https://management.azure.com/metadata/endpoints?api-version=2022-09-01"
    _assert_public_azure(parse_metadata(json.dumps(PUBLIC_AZURE), url))


def test_2019_list_of_the_public_clouds_picks_the_one_asked():
    """api-version 2019-05-01 answers the list of clouds; the entry of the URL's host is taken."""
    document = [PUBLIC_AZURE, AZURE_CHINA, AZURE_US_GOV]
    _assert_public_azure(parse_metadata(document, "https://management.azure.com/metadata/endpoints?api-version=2019-05-01"))
    china = parse_metadata(document, "https://management.chinacloudapi.cn/metadata/endpoints?api-version=2019-05-01")
    assert (china.name, china.resource_manager, china.graph_endpoint) == (
        "AzureChinaCloud", "https://management.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn/"
    )
    assert china.arm_scope == "https://management.core.chinacloudapi.cn/.default"


def test_2022_single_object_of_the_emulator():
    document = _cloud_entry("127.0.0.1:8443", name="Emulator")
    endpoints = parse_metadata(document, EMULATOR_URL)
    assert (endpoints.name, endpoints.resource_manager) == ("Emulator", "https://127.0.0.1:8443/")
    assert endpoints.graph_endpoint == "https://127.0.0.1:8443/graph/"


@pytest.mark.parametrize(
    ("document", "graph"),
    [
        # Azure Stack Hub with Entra: no microsoftGraphResourceId, Graph follows the login host
        ({"galleryEndpoint": "https://portal.local.azurestack.external:30015/",
          "graphEndpoint": "https://graph.windows.net/",
          "portalEndpoint": "https://portal.local.azurestack.external/",
          "authentication": {"loginEndpoint": "https://login.microsoftonline.com/",
                             "audiences": ["https://management.contoso.onmicrosoft.com/3f2a"]}},
         "https://graph.microsoft.com/"),
        # an older-format document that does name Microsoft Graph (without trailing slash)
        ({"authentication": {"loginEndpoint": "https://stack.example/adfs/",
                             "audiences": ["https://stack.example/"]},
          "microsoftGraphResourceId": "https://stack.example/graph"},
         "https://stack.example/graph/"),
    ],
)
def test_2015_single_object_format_uses_the_urls_origin(document, graph):
    """api-version 2015-01-01, the Azure Stack Hub shape: no resourceManager, so ARM is the URL's
    origin."""
    url = "https://management.local.azurestack.external/metadata/endpoints?api-version=2015-01-01"
    endpoints = parse_metadata(document, url)
    assert endpoints.resource_manager == "https://management.local.azurestack.external/"
    assert endpoints.graph_endpoint == graph
    assert endpoints.graph_scope == graph.rstrip("/") + "/.default"
    assert not endpoints.arm_scope.endswith("//.default")


def test_single_object_without_graph_fails_only_when_graph_is_used():
    document = {"authentication": {"loginEndpoint": "https://adfs.stack.example/adfs", "audiences": ["https://m.stack.example/"]}}
    endpoints = parse_metadata(document, "https://m.stack.example/metadata/endpoints")
    assert endpoints.graph_endpoint is None and endpoints.graph_scope is None
    assert endpoints.authority_host == "https://adfs.stack.example/adfs"
    with pytest.raises(AzureConfigError) as caught:
        endpoints.graph_url("servicePrincipals")
    assert "microsoftGraphResourceId" in str(caught.value)


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ("<html>not json</html>", "not JSON"),
        ("[]", "empty list"),
        ('"AzureCloud"', "neither"),
        ([{"name": "x", "authentication": {"loginEndpoint": "https://l/", "audiences": ["https://a/"]}}], "resourceManager"),
        ([{"resourceManager": "https://127.0.0.1:8443/"}], "authentication"),
        ([_cloud_entry("127.0.0.1:8443", audiences=[])], "audiences"),
        ([{"resourceManager": "https://127.0.0.1:8443/", "authentication": {"audiences": ["https://a/"]}}], "loginEndpoint"),
        ([_cloud_entry("127.0.0.1:8443", login="http://127.0.0.1:8443/")], "non-https"),
        ([_cloud_entry("127.0.0.1:8443", graph="http://127.0.0.1:8443/graph/")], "microsoftGraphResourceId"),
    ],
)
def test_documents_without_the_needed_keys(document, needle):
    with pytest.raises(AzureConfigError) as caught:
        parse_metadata(document, EMULATOR_URL)
    message = str(caught.value)
    assert needle in message
    assert EMULATOR_URL in message and "AZURE_CLOUD_ENVIRONMENT" in message


class _Reply:
    def __init__(self, status: int, text: str) -> None:
        self.status_code, self.text = status, text


@pytest.mark.parametrize(
    ("outcome", "needles"),
    [
        ("ssl", ["TLS", "ca_bundle", "REQUESTS_CA_BUNDLE"]),
        ("refused", ["Cannot reach", "ConnectionError", "cloud_environment"]),
        (_Reply(404, "nope"), ["HTTP 404"]),
        (_Reply(200, "{oops"), ["not JSON"]),
    ],
)
def test_fetch_errors(monkeypatch, outcome, needles):
    import requests

    calls = []

    def fake_get(url, **kwargs):
        calls.append((url, kwargs))
        if outcome == "ssl":
            raise requests.exceptions.SSLError("certificate verify failed")
        if outcome == "refused":
            raise requests.exceptions.ConnectionError("refused")
        return outcome

    monkeypatch.setattr(requests, "get", fake_get)
    with pytest.raises(AzureConfigError) as caught:
        resolve_cloud("https://127.0.0.1:8443/metadata/endpoints", verify="/ca.pem", timeout=7)
    for needle in needles:
        assert needle in str(caught.value)
    url, kwargs = calls[0]
    assert url.endswith("api-version=2022-09-01")
    assert kwargs["verify"] == "/ca.pem" and kwargs["timeout"] == 7


def test_fetch_success(monkeypatch):
    import requests

    monkeypatch.setattr(requests, "get", lambda url, **kw: _Reply(200, json.dumps(_cloud_entry("127.0.0.1:8443"))))
    endpoints = resolve_cloud("https://127.0.0.1:8443/metadata/endpoints")
    assert endpoints.resource_manager == "https://127.0.0.1:8443/"


def test_builtin_table_is_keyed_by_lower_case_name():
    assert set(BUILTIN_CLOUDS) == {"azurecloud", "azurechinacloud", "azureusgovernment"}
    assert cloud.is_metadata_url("https://x/metadata/endpoints") and not cloud.is_metadata_url("AzureCloud")
