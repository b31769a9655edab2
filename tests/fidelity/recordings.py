"""Real Azure traffic recorded by azure-cli's tests (vcrpy YAML cassettes), as plain data."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping
from urllib.parse import urlsplit

import yaml

RECORDINGS_ROOT = Path(__file__).resolve().parent / "reference" / "recordings"

Kind = Literal["arm", "graph", "token", "other"]

_TOKEN_HOSTS = re.compile(r"^login\.(microsoftonline\.(com|us)|chinacloudapi\.cn|windows\.net|partner\.microsoftonline\.cn)$")
_GRAPH_HOSTS = re.compile(r"^(graph\.microsoft\.(com|us)|microsoftgraph\.chinacloudapi\.cn|graph\.windows\.net|dod-graph\.microsoft\.us)$")
_ARM_HOSTS = re.compile(r"^management\.(azure\.com|usgovcloudapi\.net|chinacloudapi\.cn)$")


@dataclass(frozen=True)
class Interaction:
    method: str
    url: str
    request_headers: Mapping[str, str]   # lower-case names; repeated values joined with ", "
    request_body: Any                    # parsed JSON, the raw text if it is not JSON, or None
    status: int
    response_headers: Mapping[str, str]
    response_body: Any

    @property
    def kind(self) -> Kind:
        return classify(self.url)


def classify(url: str) -> Kind:
    """Which Azure service a URL addresses: by host for Azure's own hosts, else by path.

    The path rules let the same helper classify URLs sent to a loopback emulator that serves
    ARM, Graph and the token endpoints on one host.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path
    if _TOKEN_HOSTS.match(host):
        return "token"
    if _GRAPH_HOSTS.match(host):
        return "graph"
    if _ARM_HOSTS.match(host):
        return "arm"
    if re.search(r"/oauth2/(v2\.0/)?(token|authorize|devicecode)$|/\.well-known/openid-configuration$|^/common/discovery/instance$", path):
        return "token"
    if re.match(r"^/(v1\.0|beta)(/|$)", path):
        return "graph"
    if re.match(r"^/(subscriptions|providers|tenants)(/|$)", path, flags=re.IGNORECASE):
        return "arm"
    return "other"


def _headers(raw: Mapping[str, Any] | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in (raw or {}).items():
        values = value if isinstance(value, list) else [value]
        headers[str(name).lower()] = ", ".join(str(v) for v in values)
    return headers


def parse_body(raw: Any) -> Any:
    """A recorded body as JSON; text that is not JSON (a token form) stays text; empty is None."""
    if isinstance(raw, dict) and "string" in raw:
        raw = raw["string"]
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_interaction(raw: Mapping[str, Any]) -> Interaction:
    request, response = raw["request"], raw["response"]
    return Interaction(
        method=str(request["method"]).upper(),
        url=str(request["uri"]),
        request_headers=_headers(request.get("headers")),
        request_body=parse_body(request.get("body")),
        status=int(response["status"]["code"]),
        response_headers=_headers(response.get("headers")),
        response_body=parse_body(response.get("body")),
    )


def load_recording(path: str | Path) -> list[Interaction]:
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return [parse_interaction(raw) for raw in document.get("interactions") or ()]


def recording_paths(root: str | Path = RECORDINGS_ROOT) -> list[Path]:
    return sorted(Path(root).glob("*.yaml"))
