"""A small run of the benchmark's own code path (N=4 accounts over 2 tenants, 4 forks, 10 ms per
request, without azure.azcollection): the targets that do not depend on the machine's speed, and
the reports with every column."""
from __future__ import annotations

import json

import pytest

from tests.bench import COLUMNS, REQUEST_KINDS, bench_size, growth_ratio, markdown, write_reports


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    size = bench_size(4, tenants=2, latency_ms=10, forks=4, azcollection=False,
                      workdir=str(out / "work"), timeout=300, log=lambda message: None)
    results = {"sizes": [size], "growth": growth_ratio([size]), "bench_seconds": 0}
    json_path, md_path = write_reports(results, str(out / "reports"))
    return size, json_path, md_path


@pytest.mark.parametrize(
    "target",
    [
        "noop_no_write",
        "noop_graph_reads_per_tenant_le_1",
        "noop_arm_reads_per_account_le_3_plus_scopes",
        "first_run_writes_only_needed",
        "first_run_no_failed_host",
        "noop_no_failed_host",
    ],
)
def test_target(smoke, target):
    size = smoke[0]
    first, noop = size["runs"]
    assert size["targets"][target], (target, size["needed_writes"], first["writes_by_purpose"], noop["requests"],
                                     size.get("configure_tail"))


def test_noop_run_reads_each_thing_once(smoke):
    """The no-op run reads, per account: the account, each container it checks, V7's role
    assignments and the Blob service; it neither reads the operator's rights (nothing to change)
    nor reads the account again (no other module runs)."""
    reads = smoke[0]["runs"][1]["arm_reads_by_endpoint"]
    per_account = {endpoint: count / 4 for endpoint, count in reads.items()}
    assert per_account.get("Microsoft.Storage/storageAccounts/{}") == 1, per_account
    assert per_account.get("Microsoft.Storage/storageAccounts/{}/blobServices/{}") == 1, per_account
    assert per_account.get("(scope)/Microsoft.Authorization/roleAssignments") == 1, per_account
    assert "(scope)/Microsoft.Authorization/permissions" not in per_account, per_account


@pytest.mark.parametrize("purpose", ["service_principal", "role_assignment", "cors", "container"])
def test_first_run_wrote_each_kind_the_world_needed(smoke, purpose):
    size = smoke[0]
    assert size["needed_writes"][purpose] > 0, "the smoke world should need every kind of write"
    assert size["runs"][0]["writes_by_purpose"].get(purpose, 0) == size["needed_writes"][purpose]


@pytest.mark.parametrize("run, kind", [(r, k) for r in (0, 1) for k in REQUEST_KINDS])
def test_requests_are_counted(smoke, run, kind):
    size = smoke[0]
    row = size["runs"][run]
    assert kind in row["requests"] and kind in row["requests_per_account"] and kind in row["requests_per_tenant"]
    assert row["lower_bound_seconds"] > 0 and row["ratio_to_bound"] > 1


def test_reports_have_every_column(smoke):
    json_path, md_path = smoke[1:]
    with open(json_path, encoding="utf-8") as handle:
        doc = json.load(handle)
    assert [s["accounts"] for s in doc["sizes"]] == [4]
    with open(md_path, encoding="utf-8") as handle:
        text = handle.read()
    header = text.splitlines()[0]
    assert [c.strip() for c in header.strip("|").split("|")] == [column[0] for column in COLUMNS]
    rows = [line for line in text.splitlines() if line.startswith("| 4 |")]
    assert len(rows) == 4 and all(line.count("|") == len(COLUMNS) + 1 for line in rows)
    assert text == markdown(doc)


def test_verify_and_the_ansible_floor_are_measured_beside_configure(smoke):
    """verify after the no-op run writes nothing and fails no account; the floor (one ping per
    account) asks Azure nothing; each run's wall time is compared with the floor's."""
    size = smoke[0]
    verify, floor = size["verify"], size["floor"]
    assert verify["run"] == "verify" and verify["failed_hosts"] == [] and verify["returncode"] == 0
    assert verify["requests"]["arm_write"] == verify["requests"]["graph_write"] == 0
    assert verify["requests"]["arm_read"] > 0
    assert floor["returncode"] == 0 and sum(floor["requests"].values()) == 0
    assert set(size["to_floor"]) == {"configure", "configure (no-op)", "verify"}
    assert all(r["ratio"] > 0 for r in size["to_floor"].values())
