"""The benchmark's azure.azcollection side: which sizes it runs at, how its requests are counted,
its copy of the world and its extra vars, and the proxy that brings the Blob endpoints to the
emulator (its parsing as pure functions, then one request through it to a running emulator)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest
import requests

from tests.bench import (
    AZC_CANNOT_DO,
    azcollection_runs_at,
    azcollection_vars,
    azcollection_world,
    count_requests,
    is_write,
    markdown,
    request_kind,
    writes_of,
)
from tests.bench.__main__ import parse_args, sizes_of
from tests.emulator.blob_proxy import BlobEndpointProxy, connect_target, parse_head, response_bytes
from tests.conftest import OPERATOR
from tests.emulator.app import shared_key_signature, shared_key_string_to_sign
from tests.fidelity.conftest import Client, account_path
from tests.scale.world import V7_APP_ID, build_world


@pytest.mark.parametrize(
    "accounts, sizes, runs",
    [
        (10, (10, 50, 200), True),
        (200, (10, 50, 200), True),
        (500, (10, 50, 200), False),
        (20, (10, 50, 200), False),
        (4, (10, 50, 200), False),
        (4, (4,), True),
        (4, (), False),
        (500, (500,), True),
        (50, (200,), False),
    ],
)
def test_azcollection_runs_at(accounts, sizes, runs):
    assert azcollection_runs_at(accounts, sizes) is runs


@pytest.mark.parametrize(
    "argv, sizes",
    [([], [10, 50, 200]), (["--azcollection-sizes", "4, 10,"], [4, 10]), (["--azcollection-sizes", ""], [])],
)
def test_azcollection_sizes_option(argv, sizes):
    assert sizes_of(parse_args(argv).azcollection_sizes) == sizes


def _entry(kind: str, method: str, path: str, write: bool) -> dict:
    return {"kind": kind, "method": method, "path": path, "write": write}


LIST_KEYS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/listKeys"
CONTAINER = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c"


@pytest.mark.parametrize(
    "entry, kind, write",
    [
        (_entry("arm", "POST", LIST_KEYS, True), "arm_read", False),
        (_entry("arm", "POST", LIST_KEYS.lower() + "/", True), "arm_read", False),
        (_entry("arm", "PUT", CONTAINER, True), "arm_write", True),
        (_entry("arm", "GET", CONTAINER, False), "arm_read", False),
        (_entry("blob", "GET", "/", False), "blob", False),
        (_entry("graph", "POST", "/graph/v1.0/servicePrincipals", True), "graph_write", True),
        (_entry("entra", "POST", "/t/oauth2/v2.0/token", False), "token", False),
        (_entry("metadata", "GET", "/metadata/endpoints", False), None, False),
    ],
)
def test_request_kinds_and_writes(entry, kind, write):
    assert request_kind(entry) == kind
    assert is_write(entry) is write
    assert writes_of([entry]) == ([entry] if write else [])


def test_count_requests_has_every_kind():
    log = [_entry("blob", "GET", "/", False)] * 3 + [_entry("arm", "POST", LIST_KEYS, True)]
    assert count_requests(log) == {"token": 0, "graph_read": 0, "graph_write": 0, "arm_read": 1, "arm_write": 0,
                                   "blob": 3}


def test_azcollection_world_adds_only_v7s_principal():
    world = build_world(10, 2)
    azc, principals = azcollection_world(world)
    assert set(principals) == {t["id"] for t in world.state["tenants"]}
    for tenant in azc.state["tenants"]:
        assert tenant["service_principals"] == [{"app_id": V7_APP_ID, "object_id": principals[tenant["id"]]}]
        original = next(t for t in world.state["tenants"] if t["id"] == tenant["id"])
        assert tenant["subscriptions"] == original["subscriptions"]
    assert azc.accounts == world.accounts
    assert all(not t.get("service_principals") for t in world.state["tenants"])


def test_azcollection_vars_give_roles_and_the_prefix_container(tmp_path):
    world = build_world(10, 2)
    azc, principals = azcollection_world(world)
    with open(azcollection_vars(azc, principals, str(tmp_path / "vars.json")), encoding="utf-8") as handle:
        doc = json.load(handle)
    assert doc["v7_principal_ids"] == principals and doc["v7_app_id"] == V7_APP_ID
    for account in world.accounts:
        entry = doc["v7_accounts"][account["name"]]
        assert entry["container"] == account["prefix"].split("/")[0]
        assert entry["roles"] and all(r["scope"].startswith("/subscriptions/") for r in entry["roles"])
    missing = [a for a in world.accounts if a["prefix"].split("/")[0] not in a["existing_containers"]]
    assert missing, "the world should have accounts whose prefix container is missing"


def _size(**extra) -> dict:
    row = {"run": "configure", "seconds": 1.0, "seconds_per_account": 0.1, "cpu_seconds": 1.0, "peak_rss_mb": 50.0,
           "requests_per_account": dict.fromkeys(("token", "arm_read", "arm_write", "blob"), 0),
           "requests_per_tenant": dict.fromkeys(("graph_read", "graph_write"), 0), "lower_bound_seconds": 0.5,
           "ratio_to_bound": 2.0, "failed_hosts": [], "writes_by_purpose": {}}
    return {"accounts": 500, "tenants": 2, "forks": 20, "latency_ms": 50, "runs": [row, dict(row)],
            "targets": {"noop_no_write": True}, "needed_writes": {}, **extra}


@pytest.mark.parametrize(
    "size, line",
    [
        (_size(azcollection_not_run="10,50,200"), "N=500: azure.azcollection not run at this size (--azcollection-sizes 10,50,200)"),
        (_size(azcollection={"runs": [], "failure": None, "cannot_do": AZC_CANNOT_DO, "needed_writes": {}}),
         "N=500: azure.azcollection cannot do: V7's service principal"),
    ],
)
def test_markdown_says_what_azcollection_did_not_do(size, line):
    if "azcollection" in size:
        size["azcollection"]["runs"] = [dict(size["runs"][0], run="azure.azcollection")]
    assert line in markdown({"sizes": [size]})


# ------------------------------------------------------------------ the proxy
@pytest.mark.parametrize(
    "line, host",
    [
        ("CONNECT contosoimages.blob.core.windows.net:443 HTTP/1.1", "contosoimages.blob.core.windows.net"),
        ("CONNECT ContosoImages.BLOB.core.windows.net:443 HTTP/1.0\r\n", "contosoimages.blob.core.windows.net"),
        ("CONNECT contosoimages.blob.core.windows.net:80 HTTP/1.1", None),
        ("CONNECT contosoimages.queue.core.windows.net:443 HTTP/1.1", None),
        ("CONNECT graph.microsoft.com:443 HTTP/1.1", None),
        ("CONNECT evil.example/x.blob.core.windows.net:443 HTTP/1.1", None),
        ("GET http://contosoimages.blob.core.windows.net/ HTTP/1.1", None),
    ],
)
def test_connect_target(line, host):
    assert connect_target(line) == host


def test_parse_head_keeps_fields_in_order():
    head = b"GET /?restype=service&comp=properties HTTP/1.1\r\nHost: a.blob.core.windows.net\r\nx-ms-date: Mon, 01\r\n\r\n"
    assert parse_head(head) == ("GET /?restype=service&comp=properties HTTP/1.1",
                                [("Host", "a.blob.core.windows.net"), ("x-ms-date", "Mon, 01")])


@pytest.mark.parametrize("close", [False, True])
def test_response_bytes_drop_hop_by_hop_headers_and_set_the_length(close):
    fields = [("Content-Type", "application/xml"), ("Transfer-Encoding", "chunked"), ("Connection", "keep-alive"),
              ("Content-Length", "99"), ("x-ms-request-id", "r")]
    raw = response_bytes(200, "OK", fields, b"<a/>", close=close)
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK" and body == b"<a/>"
    expected = ["Content-Type: application/xml", "x-ms-request-id: r", "Content-Length: 4"]
    assert lines[1:] == expected + (["Connection: close"] if close else [])


def test_a_signed_request_through_the_proxy_reaches_the_emulator(emulator, tmp_path):
    keys = Client(emulator, OPERATOR).call("POST", account_path("contosovideos") + "/listKeys").json()["keys"]
    headers = {"x-ms-date": format_datetime(datetime.now(timezone.utc), usegmt=True), "x-ms-version": "2025-01-05"}
    query = [("restype", "service"), ("comp", "properties")]
    signature = shared_key_signature(keys[0]["value"], shared_key_string_to_sign("GET", headers, "contosovideos", "/", query))
    headers["Authorization"] = f"SharedKey contosovideos:{signature}"
    with BlobEndpointProxy(emulator.url, emulator.ca_bundle, str(tmp_path)) as proxy:
        env = proxy.env()
        assert env["NO_PROXY"] == "127.0.0.1,localhost" and env["HTTPS_PROXY"] == proxy.url
        with requests.Session() as session:
            session.trust_env = False
            reply = session.get("https://contosovideos.blob.core.windows.net/?restype=service&comp=properties",
                                headers=headers, proxies={"https": proxy.url}, verify=proxy.ca_bundle, timeout=30)
            assert reply.status_code == 200, reply.text
            assert b"<AllowedOrigins>https://portal.contoso.com</AllowedOrigins>" in reply.content
            with pytest.raises(requests.exceptions.ProxyError):
                session.get("https://graph.microsoft.com/v1.0/", proxies={"https": proxy.url}, verify=proxy.ca_bundle,
                            timeout=30)
        assert (proxy.tunnels, proxy.refused) == (1, 1)
    assert [(e["kind"], e["status"]) for e in emulator.log(kind="blob")] == [("blob", 200)]
