"""The endpoints azure.azcollection's modules call besides the collection's own: StorageAccounts_ListKeys
(Microsoft.Storage, in the reference specs, so the emulator fixture validates every reply) and
ResourceGroups_Get (Microsoft.Resources, whose spec is not in tests/fidelity/reference yet: its
200 reply is checked here field by field against the ResourceGroup definition of
specification/resources/resource-manager/Microsoft.Resources/stable/2022-09-01/resources.json, on
an emulator of its own so that the fixture's spec check does not see a path it has no spec for)."""
from __future__ import annotations

import base64
import os

import pytest

from tests.conftest import SUBSCRIPTION
from tests.emulator import EmulatorProcess

from .conftest import Client, account_path

DEFAULT_STATE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "emulator", "states", "default.yml")


@pytest.mark.parametrize("api_version", ["2026-09-01", "2023-01-01"])
def test_list_keys_gives_two_full_keys(arm, api_version):
    reply = arm.call("POST", account_path() + "/listKeys", api_version=api_version)
    assert reply.status_code == 200, reply.text
    keys = reply.json()["keys"]
    assert [k["keyName"] for k in keys] == ["key1", "key2"]
    assert all(k["permissions"] == "Full" and len(base64.b64decode(k["value"])) == 64 for k in keys)
    assert keys[0]["value"] != keys[1]["value"]
    again = arm.call("POST", account_path() + "/listKeys", api_version=api_version).json()["keys"]
    assert [k["value"] for k in again] == [k["value"] for k in keys]


def test_list_keys_needs_the_listkeys_action(auditor_arm):
    reply = auditor_arm.call("POST", account_path() + "/listKeys")
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "AuthorizationFailed"
    assert "Microsoft.Storage/storageAccounts/listkeys/action" in reply.json()["error"]["message"]


@pytest.mark.parametrize(
    "path, code",
    [
        (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-missing", "ResourceGroupNotFound"),
        ("/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg-data", "SubscriptionNotFound"),
    ],
)
def test_resource_group_not_found(arm, path, code):
    reply = arm.call("GET", path, api_version="2022-09-01")
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == code


@pytest.fixture(scope="module")
def own_emulator():
    with EmulatorProcess(DEFAULT_STATE) as emulator:
        yield emulator


@pytest.mark.parametrize("identity_name", ["OPERATOR", "AUDITOR"])
def test_resource_group_shape(own_emulator, identity_name):
    from tests import conftest

    client = Client(own_emulator, getattr(conftest, identity_name))
    reply = client.call("GET", f"/subscriptions/{SUBSCRIPTION}/resourceGroups/RG-DATA", api_version="2022-09-01")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert set(body) == {"id", "name", "type", "location", "properties"}
    assert body["id"] == f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-data"
    assert body["name"] == "rg-data" and body["type"] == "Microsoft.Resources/resourceGroups"
    assert body["properties"] == {"provisioningState": "Succeeded"}
    assert isinstance(body["location"], str) and body["location"]
