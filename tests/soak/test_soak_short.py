"""The short soak (python -m tests.soak --short), run once per test session through the same code,
and what it must show: every account ready despite the faults, nothing duplicated or lost, a
second run that writes nothing, each killed run recovered, concurrent runs without a failed host."""
from __future__ import annotations

import pytest

from tests.session_cache import once_per_session
from tests.soak import SHORT, run_soak


@pytest.fixture(scope="module")
def soak(tmp_path_factory) -> dict:
    return once_per_session(tmp_path_factory, "soak_short", lambda workdir: run_soak(SHORT, str(workdir)))


def _problems(soak: dict, experiment: str, label: str) -> list[str]:
    return [p for p in soak[experiment]["problems"] if p.startswith(label)]


@pytest.mark.parametrize("run", ["without_faults", "with_faults"])
def test_one_run_makes_every_account_ready(soak, run):
    figures = soak["faults"][run]
    assert figures["rc"] == 0 and figures["failed_hosts"] == []
    assert figures["hosts"] == SHORT.accounts
    label = "run without faults" if run == "without_faults" else "run with faults"
    # world_problems: a missing role or CORS origin, a duplicate, a customer rule or assignment lost
    assert _problems(soak, "faults", label) == []


def test_the_faults_really_happened_and_were_retried(soak):
    figures = soak["faults"]["with_faults"]
    assert figures["faulted_total"] > 0
    assert figures["resent"] == figures["faulted_total"]
    assert figures["faulted_not_resent"] == 0
    assert soak["faults"]["without_faults"]["faulted_total"] == 0


def test_the_second_run_writes_nothing(soak):
    second = soak["faults"]["second_run"]
    assert _problems(soak, "faults", "second run") == []
    assert second["changed_tasks"] == 0
    assert second["by_kind"].get("ARM write", 0) == 0 and second["by_kind"].get("Graph write", 0) == 0


def test_each_killed_run_is_recovered(soak):
    cycles = soak["kills"]["cycles"]
    assert len(cycles) == SHORT.kills
    assert all(c["killed"] for c in cycles)
    assert all(c["recovery_failed_hosts"] == [] and c["further_writes"] == 0 and c["further_changed"] == 0
               for c in cycles)
    assert soak["kills"]["problems"] == []


def test_concurrent_runs_end_as_one_run(soak):
    concurrent = soak["concurrent"]
    assert concurrent["overlap"] > 0
    assert [r["failed_hosts"] for r in concurrent["runs"]] == [[], []]
    assert concurrent["problems"] == []
