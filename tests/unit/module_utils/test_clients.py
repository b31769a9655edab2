"""The clients' retry settings, through azure-core's real pipeline with the HTTP adapter replaced:
api_retries bounds every kind of retry (429, 5xx, connection errors), not only retry_total."""
from __future__ import annotations

import io
import time
from dataclasses import dataclass

import pytest
import requests
from urllib3.response import HTTPResponse
from azure.core.credentials import AccessToken
from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline.transport import RequestsTransport

from ansible_collections.v7labs.azure_storage.plugins.module_utils import clients
from ansible_collections.v7labs.azure_storage.plugins.module_utils.auth import AUTH_ARGUMENT_SPEC, resolve_auth
from ansible_collections.v7labs.azure_storage.plugins.module_utils.cloud import parse_metadata
from ansible_collections.v7labs.azure_storage.plugins.module_utils.errors import AzureApiError

CLOUD = parse_metadata(
    [{"name": "Test", "resourceManager": "https://arm.example.test/", "microsoftGraphResourceId": "https://graph.example.test/",
      "authentication": {"loginEndpoint": "https://login.example.test/", "audiences": ["https://arm.example.test/"]}}],
    "https://arm.example.test/metadata/endpoints",
)
SUB = "33333333-3333-3333-3333-333333333333"
PATH = "servicePrincipals(appId='95e63529-38cc-435c-b247-32a1d62f321d')"


def settings(retries: int):
    values = {name: spec.get("default") for name, spec in AUTH_ARGUMENT_SPEC.items()}
    values.update(api_retries=retries, api_retry_backoff_max=1, auth_source="cli")
    return resolve_auth(values, {})


class Credential:
    def get_token(self, *scopes, **kwargs):
        return AccessToken("not-a-real-token", int(time.time()) + 3600)


@dataclass(frozen=True)
class Reply:
    status_code: int
    headers: dict
    body: bytes

    def build(self, request) -> requests.Response:
        """A fresh requests.Response as HTTPAdapter would return it (its body is read once)."""
        headers = {"Content-Type": "application/json", **self.headers}
        raw = HTTPResponse(body=io.BytesIO(self.body), headers=headers, status=self.status_code, preload_content=False)
        return requests.adapters.HTTPAdapter().build_response(request, raw)


def reply(status: int, headers: dict | None = None, body: bytes = b"{}") -> Reply:
    return Reply(status, headers or {}, body)


THROTTLED = reply(429, {"Retry-After": "2"}, b'{"error": {"code": "TooManyRequests", "message": "Too many requests."}}')
UNAVAILABLE = reply(503, {}, b'{"error": {"code": "serviceNotAvailable", "message": "Unavailable."}}')
OK = reply(200, {}, b'{"id": "6f3d2a1c-8a4e-4b9e-9f0a-2c7d5e1b3a44"}')
DROPPED = requests.ConnectionError("connection reset by peer")


@pytest.fixture
def wire(monkeypatch):
    """Replaces the network: replies are served from `wire.script` in order (the last repeats);
    `wire.sent` counts the attempts and `wire.slept` the waits the retry policy asked for."""

    class Wire:
        script: list = []
        sent = 0
        slept: list[float] = []

    def send(adapter, request, **kwargs):
        Wire.sent += 1
        item = Wire.script[min(Wire.sent, len(Wire.script)) - 1]
        if isinstance(item, Exception):
            raise item
        return item.build(request)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    monkeypatch.setattr(RequestsTransport, "sleep", lambda self, seconds: Wire.slept.append(seconds))
    Wire.slept = []
    return Wire


@pytest.mark.parametrize(
    ("method", "script", "retries", "attempts"),
    [
        # azure-core's own status limit is 3: api_retries 6 must really mean 7 attempts
        ("GET", [THROTTLED], 6, 7),
        ("GET", [UNAVAILABLE], 5, 6),
        ("POST", [THROTTLED], 4, 5),
        ("POST", [UNAVAILABLE], 4, 5),
        ("GET", [THROTTLED], 0, 1),
        ("GET", [THROTTLED], 1, 2),
    ],
)
def test_api_retries_bounds_status_retries(wire, method, script, retries, attempts):
    wire.script = script
    graph = clients.GraphClient(Credential(), settings(retries), CLOUD)
    with pytest.raises(AzureApiError) as caught:
        graph.get(PATH) if method == "GET" else graph.post("servicePrincipals", {"appId": "x"})
    assert wire.sent == attempts
    assert caught.value.status == script[0].status_code
    if script[0] is THROTTLED:
        assert wire.slept == [2.0] * (attempts - 1)  # Retry-After honoured, not the backoff


@pytest.mark.parametrize(("retries", "attempts"), [(5, 6), (0, 1)])
def test_api_retries_bounds_connection_retries(wire, retries, attempts):
    wire.script = [DROPPED]
    graph = clients.GraphClient(Credential(), settings(retries), CLOUD)
    with pytest.raises(ServiceRequestError):
        graph.get(PATH)
    assert wire.sent == attempts


def test_success_after_more_than_three_throttled_replies(wire):
    wire.script = [THROTTLED, THROTTLED, THROTTLED, UNAVAILABLE, OK]
    graph = clients.GraphClient(Credential(), settings(6), CLOUD)
    assert graph.get(PATH) == {"id": "6f3d2a1c-8a4e-4b9e-9f0a-2c7d5e1b3a44"}
    assert wire.sent == 5


@pytest.mark.parametrize("retries", [0, 2, 9])
def test_arm_clients_get_the_same_limits(retries):
    azure_clients = clients.AzureClients(settings(retries), CLOUD)
    azure_clients._credential = Credential()
    for client in (azure_clients.storage(SUB), azure_clients.authorization(SUB)):
        policy = client._config.retry_policy
        limits = (policy.total_retries, policy.status_retries, policy.connect_retries, policy.read_retries)
        assert limits == (retries,) * 4
        assert policy.backoff_max == 1
