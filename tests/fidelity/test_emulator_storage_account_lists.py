"""StorageAccounts_List and StorageAccounts_ListByResourceGroup as the emulator serves them: tags,
and pages joined by a `nextLink` that carries the api-version and an opaque `$skiptoken` (sent as
`%24skiptoken`), the form public reports of Azure's replies show. Every reply is validated against
Microsoft.Storage's storage.json by the `emulator` fixture."""
from __future__ import annotations

import copy
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tests.conftest import DEFAULT_STATE, SUBSCRIPTION

from .swagger import SpecIndex

BY_SUBSCRIPTION = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Storage/storageAccounts"
BY_GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-many/providers/Microsoft.Storage/storageAccounts"
NAMES = [f"many{i:03d}" for i in range(7)]


@pytest.fixture
def many(emulator):
    """The default world plus a resource group of seven tagged accounts."""
    with open(DEFAULT_STATE, encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    sub = next(s for s in doc["tenants"][0]["subscriptions"] if s["id"] == SUBSCRIPTION)
    sub["resource_groups"].append({"name": "rg-many", "storage_accounts": [
        {"name": name, "tags": {"v7-team": "vision", "index": str(i)}} for i, name in enumerate(NAMES)]})
    emulator.load_state(copy.deepcopy(doc))
    emulator.faults(storage_account_page_size=3)
    return emulator


def pages(arm, path: str, api_version: str = "2025-06-01") -> list[dict]:
    reply = arm.call("GET", path, api_version=api_version)
    found = []
    while True:
        assert reply.status_code == 200, reply.text
        found.append(reply.json())
        if "nextLink" not in found[-1]:
            return found
        reply = arm.call("GET", found[-1]["nextLink"], api_version=None)


def test_the_spec_index_knows_both_lists():
    index = SpecIndex.load()
    base = "https://management.azure.com"
    assert index.find("GET", f"{base}{BY_SUBSCRIPTION}?api-version=2025-06-01").operation_id == "StorageAccounts_List"
    assert index.find("GET", f"{base}{BY_GROUP}?api-version=2025-06-01").operation_id == \
        "StorageAccounts_ListByResourceGroup"


@pytest.mark.parametrize("path", [BY_GROUP, BY_SUBSCRIPTION])
def test_lists_come_in_pages_joined_by_next_links(many, arm, path):
    found = pages(arm, path)
    every = [a for page in found for a in page["value"]]
    assert all(len(page["value"]) == 3 for page in found[:-1]) and 1 <= len(found[-1]["value"]) <= 3
    names = [a["name"] for a in every]
    assert len(names) == len(set(names))
    assert set(NAMES) <= set(names)
    if path == BY_GROUP:
        assert names == NAMES and len(found) == 3
    else:  # the default world's three accounts too
        assert len(names) == len(NAMES) + 3 and len(found) == 4
    link = urlsplit(found[0]["nextLink"])
    assert link.scheme == "https" and link.path == path
    assert link.query.startswith("api-version=2025-06-01&%24skiptoken=")
    assert set(parse_qs(link.query)) == {"api-version", "$skiptoken"}


def test_listed_accounts_carry_their_tags_ids_and_kinds(many, arm):
    every = {a["name"]: a for page in pages(arm, BY_GROUP) for a in page["value"]}
    assert every["many004"]["tags"] == {"v7-team": "vision", "index": "4"}
    assert every["many004"]["id"] == f"{BY_GROUP}/many004"
    assert every["many004"]["kind"] == "StorageV2"
    assert every["many004"] == arm.call("GET", f"{BY_GROUP}/many004").json()


def test_one_page_when_the_accounts_fit(emulator, arm):
    body = arm.call("GET", BY_SUBSCRIPTION).json()
    assert len(body["value"]) == 3 and "nextLink" not in body


def test_a_skip_token_the_service_did_not_give_is_refused(many, arm):
    reply = arm.call("GET", BY_SUBSCRIPTION, **{"$skiptoken": "not-a-token"})
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "InvalidSkipToken"
