"""The control API, fault injection and concurrency."""
from __future__ import annotations

import concurrent.futures
import time
import uuid

import pytest
from azure.core.pipeline.policies import RetryPolicy
from azure.identity import ClientSecretCredential
from azure.mgmt.storage import StorageManagementClient

from tests.conftest import CONTOSO, OPERATOR, SUBSCRIPTION

from .conftest import account_path


def test_state_can_be_read_and_reset(emulator, arm):
    arm.call("PUT", account_path() + "/blobServices/default/containers/added", {})
    accounts = emulator.state()["tenants"][0]["subscriptions"][0]["resource_groups"][0]["storage_accounts"]
    assert "added" in next(a for a in accounts if a["name"] == "contosoimages")["containers"]
    emulator.reset()
    accounts = emulator.state()["tenants"][0]["subscriptions"][0]["resource_groups"][0]["storage_accounts"]
    assert "added" not in next(a for a in accounts if a["name"] == "contosoimages")["containers"]


def test_request_log_records_method_path_status_duration_and_caller(emulator, arm):
    arm.call("GET", account_path())
    entry = [e for e in emulator.log() if e["kind"] == "arm"][-1]
    assert entry["method"] == "GET" and entry["path"] == account_path() and entry["status"] == 200
    assert entry["caller"] == OPERATOR["object_id"] and entry["duration_ms"] >= 0
    assert "api-version=2026-09-01" in entry["query"]
    tokens = [e for e in emulator.log() if e["kind"] == "entra" and e["path"].endswith("/token")]
    assert tokens and all(e["request_body"] is None and e["response_body"] is None for e in tokens)


def _pattern(emulator, arm, n=40):
    emulator.reset()
    emulator.faults(seed=7, rate_429=0.2, rate_503=0.1, rate_drop=0.0)
    statuses = [arm.call("GET", account_path()).status_code for _attempt in range(n)]
    return statuses


def test_faults_are_reproducible_from_a_seed(emulator, arm):
    first, second = _pattern(emulator, arm), _pattern(emulator, arm)
    assert first == second
    assert {429, 503, 200} <= set(first)
    throttled = [e for e in emulator.log() if e["status"] == 429]
    assert throttled


def _storage_client(emulator, **options) -> StorageManagementClient:
    """azure-mgmt-storage signed in as the operator, pointed at the emulator."""
    credential = ClientSecretCredential(
        CONTOSO, OPERATOR["client_id"], OPERATOR["secret"], authority=emulator.url, disable_instance_discovery=True, connection_verify=emulator.ca_bundle
    )
    return StorageManagementClient(
        credential,
        SUBSCRIPTION,
        base_url=emulator.url,
        credential_scopes=["https://management.core.windows.net/.default"],
        connection_verify=emulator.ca_bundle,
        **options,
    )


def test_throttling_carries_retry_after_and_azure_core_honours_it(emulator):
    emulator.faults(seed=3, rate_429=0.5, retry_after=1)
    client = _storage_client(emulator, retry_policy=RetryPolicy(retry_total=10, retry_status=10))
    started = time.monotonic()
    for _attempt in range(4):
        assert client.storage_accounts.get_properties("rg-data", "contosoimages").name == "contosoimages"
    throttled = [e for e in emulator.log() if e["status"] == 429]
    assert throttled, "the seed should throttle at least one of these requests"
    assert time.monotonic() - started >= len(throttled) * 0.9


def test_dropped_connections_are_retried_by_azure_core(emulator, arm):
    emulator.faults(seed=11, rate_drop=0.5)
    client = _storage_client(emulator)
    for _attempt in range(3):
        assert client.blob_services.get_service_properties("rg-data", "contosoimages").cors is not None
    dropped = [e for e in emulator.log() if e["fault"] == "drop"]
    assert dropped and all(e["status"] is None for e in dropped)


def test_latency_is_applied(emulator, arm):
    emulator.faults(latency_ms=200)
    started = time.monotonic()
    arm.call("GET", account_path())
    assert time.monotonic() - started >= 0.2


def test_unknown_fault_setting_is_refused(emulator):
    with pytest.raises(Exception):
        emulator.faults(rate_teapot=0.5)


def test_fifty_clients_at_once_lose_nothing(emulator, arm):
    base = account_path() + "/blobServices/default/containers/"
    names = [f"c{uuid.uuid4().hex[:12]}" for _index in range(200)]
    headers = arm.headers()

    def create(name):
        return arm.session.put(
            arm.base + base + name, params={"api-version": "2026-09-01"}, json={}, headers=headers, verify=emulator.ca_bundle, timeout=60
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(create, names))
    assert statuses == [201] * len(names)
    listed = arm.call("GET", account_path() + "/blobServices/default/containers").json()["value"]
    assert set(names) <= {c["name"] for c in listed}
    state_names = emulator.state()["tenants"][0]["subscriptions"][0]["resource_groups"][0]["storage_accounts"][0]["containers"]
    assert set(names) <= set(state_names)
