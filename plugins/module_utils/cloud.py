# Copyright: V7 platform integrations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud endpoints: the three named Azure clouds, or any cloud described by an ARM metadata URL
(Azure Stack style `https://host/metadata/endpoints`)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureConfigError

METADATA_API_VERSION = "2022-09-01"

# Entra hosts MSAL knows; any other authority needs instance discovery turned off, or MSAL asks
# login.microsoftonline.com about it.
WELL_KNOWN_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.windows.net",
        "login.microsoft.com",
        "sts.windows.net",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
        "login.microsoftonline.us",
        "login.usgovcloudapi.net",
        "login-us.microsoftonline.com",
        "login.microsoftonline.de",
    }
)

_HOW_TO_SET = "cloud_environment (or AZURE_CLOUD_ENVIRONMENT)"


@dataclass(frozen=True)
class CloudEndpoints:
    name: str
    resource_manager: str  # ARM base URL, ends with "/"
    authority_host: str  # Entra sign-in host as an https URL, no trailing "/"
    arm_scope: str
    graph_endpoint: str | None  # Microsoft Graph base URL (also its audience), ends with "/"
    graph_scope: str | None
    known_authority: bool

    def graph_url(self, path: str) -> str:
        """`<graph_endpoint>v1.0/<path>`."""
        if not self.graph_endpoint:
            raise AzureConfigError(
                f"The cloud '{self.name}' does not say where Microsoft Graph is (no microsoftGraphResourceId "
                f"in its metadata): Graph-based modules cannot run against it. Check {_HOW_TO_SET}."
            )
        return f"{self.graph_endpoint}v1.0/{path.lstrip('/')}"


def with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def scope_for(audience: str) -> str:
    """OAuth2 scope for a resource audience: 'https://x/' and 'https://x' both give 'https://x/.default'."""
    return audience.rstrip("/") + "/.default"


def _builtin(name: str, arm: str, login: str, graph: str) -> CloudEndpoints:
    return CloudEndpoints(
        name=name,
        resource_manager=with_slash(arm),
        authority_host=login,
        arm_scope=scope_for(arm),
        graph_endpoint=with_slash(graph),
        graph_scope=scope_for(graph),
        known_authority=True,
    )


BUILTIN_CLOUDS: dict[str, CloudEndpoints] = {
    c.name.lower(): c
    for c in (
        _builtin("AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com", "https://graph.microsoft.com"),
        _builtin(
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "https://login.chinacloudapi.cn",
            "https://microsoftgraph.chinacloudapi.cn",
        ),
        _builtin(
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "https://login.microsoftonline.us",
            "https://graph.microsoft.us",
        ),
    )
}
# Microsoft Graph for an Azure Stack whose metadata names only a well-known Entra login host.
_GRAPH_BY_LOGIN_HOST = {
    "login.microsoftonline.com": "https://graph.microsoft.com/",
    "login.windows.net": "https://graph.microsoft.com/",
    "login.chinacloudapi.cn": "https://microsoftgraph.chinacloudapi.cn/",
    "login.microsoftonline.us": "https://graph.microsoft.us/",
}


def is_metadata_url(value: str) -> bool:
    return "://" in value


def metadata_request_url(url: str) -> str:
    """Validate a metadata URL and add api-version=2022-09-01 when it has none."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise AzureConfigError(
            f"cloud_environment '{url}' is not an https URL: the cloud metadata endpoint must be served over "
            f"TLS (https://host/metadata/endpoints). Fix {_HOW_TO_SET}.",
            code="CloudMetadataInvalid",
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k.lower() == "api-version" for k, _unused0 in query):
        query.append(("api-version", METADATA_API_VERSION))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.hostname or "").lower(), port or (443 if parts.scheme.lower() == "https" else 80)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _invalid(metadata_url: str, what: str) -> AzureConfigError:
    return AzureConfigError(
        f"The cloud metadata at '{metadata_url}' {what}. Check {_HOW_TO_SET}: it must point at an ARM "
        "metadata endpoint such as https://management.azure.com/metadata/endpoints?api-version=2022-09-01.",
        code="CloudMetadataInvalid",
    )


def _pick_entry(entries: list, metadata_url: str) -> dict:
    clouds = [e for e in entries if isinstance(e, dict)]
    if not clouds:
        raise _invalid(metadata_url, "is an empty list of clouds")
    wanted = _host_port(metadata_url)
    for cloud in clouds:
        arm = cloud.get("resourceManager")
        if isinstance(arm, str) and _host_port(arm) == wanted:
            return cloud
    return clouds[0]


def _https(value: Any, key: str, metadata_url: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(metadata_url, f"has no {key}")
    if urlsplit(value.strip()).scheme.lower() != "https":
        raise _invalid(metadata_url, f"gives a non-https {key} '{value}'")
    return value.strip()


def parse_metadata(document: Any, metadata_url: str) -> CloudEndpoints:
    """CloudEndpoints from an ARM metadata document (a JSON string or the parsed value).

    Public Azure answers in three shapes, by api-version: 2022-09-01 (the version asked for by
    default) serves one object, the cloud asked for, with resourceManager,
    authentication.loginEndpoint/audiences and microsoftGraphResourceId (azure-cli's
    `az cloud register` reads it so); 2019-05-01 serves a list of clouds in that same shape
    (azure-cli's ARM_CLOUD_METADATA_URL), of which the entry whose resourceManager is the URL's
    host is taken; 2015-01-01, also what Azure Stack Hub serves, one object in an older shape
    without resourceManager, in which case ARM is the metadata URL's own origin.
    """
    if isinstance(document, (str, bytes, bytearray)):
        try:
            document = json.loads(document)
        except ValueError:
            raise _invalid(metadata_url, "is not JSON") from None
    if isinstance(document, list):
        cloud = _pick_entry(document, metadata_url)
        resource_manager = _https(cloud.get("resourceManager"), "resourceManager", metadata_url)
    elif isinstance(document, dict):
        cloud = document
        arm = cloud.get("resourceManager")
        resource_manager = _https(arm, "resourceManager", metadata_url) if arm else _origin(metadata_url)
    else:
        raise _invalid(metadata_url, "is neither a cloud object nor a list of clouds")

    authentication = cloud.get("authentication")
    if not isinstance(authentication, dict):
        raise _invalid(metadata_url, "has no authentication section")
    login = _https(authentication.get("loginEndpoint"), "authentication.loginEndpoint", metadata_url)
    audiences = authentication.get("audiences")
    if not isinstance(audiences, list) or not audiences:
        raise _invalid(metadata_url, "has no authentication.audiences")
    audience = _https(audiences[0], "authentication.audiences[0]", metadata_url)

    login_host = (urlsplit(login).hostname or "").lower()
    graph = cloud.get("microsoftGraphResourceId")
    if isinstance(graph, str) and graph.strip():
        graph = _https(graph, "microsoftGraphResourceId", metadata_url)
    else:
        graph = _GRAPH_BY_LOGIN_HOST.get(login_host)
    graph = with_slash(graph) if graph else None

    name = cloud.get("name") if isinstance(cloud.get("name"), str) else None
    return CloudEndpoints(
        name=name or urlsplit(metadata_url).hostname or metadata_url,
        resource_manager=with_slash(resource_manager),
        authority_host=login.rstrip("/"),
        arm_scope=scope_for(audience),
        graph_endpoint=graph,
        graph_scope=scope_for(graph) if graph else None,
        known_authority=login_host in WELL_KNOWN_AUTHORITY_HOSTS,
    )


def fetch_metadata(url: str, verify: bool | str = True, timeout: float | None = None) -> str:
    """GET the metadata document; errors say whether the URL, TLS or the reply is at fault."""
    import requests

    try:
        response = requests.get(url, headers={"Accept": "application/json"}, verify=verify, timeout=timeout or 30)
    except requests.exceptions.SSLError:
        raise AzureConfigError(
            f"TLS verification failed for the cloud metadata endpoint '{url}': set ca_bundle (or "
            "REQUESTS_CA_BUNDLE) to the CA that signed the endpoint's certificate.",
            code="TLSVerificationFailed",
        ) from None
    except requests.exceptions.RequestException as exc:
        raise AzureConfigError(
            f"Cannot reach the cloud metadata endpoint '{url}' ({type(exc).__name__}): check the URL in "
            f"{_HOW_TO_SET}, the network and the proxy settings.",
            code="CloudMetadataUnreachable",
        ) from None
    if response.status_code != 200:
        raise AzureConfigError(
            f"The cloud metadata endpoint '{url}' answered HTTP {response.status_code}: check {_HOW_TO_SET}.",
            code="CloudMetadataUnreachable",
        )
    return response.text


def resolve_cloud(value: str, verify: bool | str = True, timeout: float | None = None) -> CloudEndpoints:
    """A named cloud, or the cloud that a metadata URL describes (fetched once)."""
    value = (value or "AzureCloud").strip()
    if not is_metadata_url(value):
        cloud = BUILTIN_CLOUDS.get(value.lower())
        if cloud is None:
            names = ", ".join(c.name for c in BUILTIN_CLOUDS.values())
            raise AzureConfigError(
                f"Unknown cloud_environment '{value}': use one of {names}, or an https URL of an ARM "
                f"metadata endpoint (https://host/metadata/endpoints). Fix {_HOW_TO_SET}.",
                code="CloudMetadataInvalid",
            )
        return cloud
    url = metadata_request_url(value)
    return parse_metadata(fetch_metadata(url, verify=verify, timeout=timeout), url)
