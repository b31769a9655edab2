"""Fixtures for talking to the emulator the way Azure's clients do: real tokens from
azure-identity, HTTPS with the emulator's CA, raw requests for status and body checks."""
from __future__ import annotations

import pytest
import requests
from azure.identity import ClientSecretCredential

from tests.conftest import AUDITOR, CONTOSO, OPERATOR, SUBSCRIPTION

ARM_SCOPE = "https://management.core.windows.net/.default"


class Client:
    """Raw HTTPS calls to the emulator with a bearer token for one identity and audience."""

    def __init__(self, emulator, identity: dict, scope: str | None = ARM_SCOPE):
        self.emulator = emulator
        self.base = emulator.url.rstrip("/")
        self.session = requests.Session()
        self.session.verify = emulator.ca_bundle
        self.credential = ClientSecretCredential(
            CONTOSO,
            identity["client_id"],
            identity["secret"],
            authority=self.base,
            disable_instance_discovery=True,
            connection_verify=emulator.ca_bundle,
        )
        self.scope = scope

    def headers(self) -> dict:
        if not self.scope:
            return {}
        return {"Authorization": "Bearer " + self.credential.get_token(self.scope).token}

    def call(self, method: str, path: str, body=None, api_version: str | None = "2026-09-01", **params):
        if api_version:
            params["api-version"] = api_version
        url = path if path.startswith("https://") else self.base + path
        return self.session.request(
            method, url, json=body, params=params, headers=self.headers(), timeout=30, verify=self.emulator.ca_bundle
        )


def account_path(account: str = "contosoimages", rg: str = "rg-data", sub: str = SUBSCRIPTION) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}"


@pytest.fixture
def arm(emulator):
    return Client(emulator, OPERATOR)


@pytest.fixture
def auditor_arm(emulator):
    return Client(emulator, AUDITOR)


@pytest.fixture
def graph(emulator):
    client = Client(emulator, OPERATOR, scope=emulator.graph_url + ".default")
    client.base = emulator.graph_url + "v1.0"
    return client


@pytest.fixture
def auditor_graph(emulator):
    client = Client(emulator, AUDITOR, scope=emulator.graph_url + ".default")
    client.base = emulator.graph_url + "v1.0"
    return client
