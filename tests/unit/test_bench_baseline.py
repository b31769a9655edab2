"""The benchmark's --baseline: the worktree's and collections folder's names, the rows' labels,
the environment and command of the baseline's runs, the CPU-per-account column and the before /
after table, from results written by hand; and the worktree made (then reused) in a throwaway git
repository. No emulator, no ansible-playbook."""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.bench import (
    BASELINE_DIR,
    COLUMNS,
    REQUEST_KINDS,
    Baseline,
    baseline_collections_path,
    baseline_env,
    baseline_labels,
    baseline_worktree_path,
    before_after,
    cpu_per_account,
    ensure_baseline,
    link_collection,
    markdown,
    resolve_ref,
)
from tests.bench.__main__ import parse_args

SHA = "02c97d2" + "0" * 33


def _run(label, seconds, cpu, n, **requests):
    counts = {k: requests.get(k, 0) for k in REQUEST_KINDS}
    return {
        "run": label, "seconds": seconds, "seconds_per_account": round(seconds / n, 3), "cpu_seconds": cpu,
        "cpu_seconds_per_account": round(cpu / n, 3), "peak_rss_mb": 100.0, "returncode": 0, "failed_hosts": [],
        "requests": counts, "requests_per_account": {k: round(v / n, 2) for k, v in counts.items()},
        "requests_per_tenant": {k: round(v / 2, 2) for k, v in counts.items()}, "writes_by_purpose": {},
        "lower_bound_seconds": 1.0, "ratio_to_bound": round(seconds, 2), "arm_reads_by_endpoint": {},
    }


def _size(n=10, baseline=True):
    size = {
        "accounts": n, "tenants": 2, "forks": 20, "latency_ms": 50,
        "runs": [_run("configure", 20.0, 8.0, n, token=4, graph_read=2, graph_write=2, arm_read=50, arm_write=30),
                 _run("configure (no-op)", 10.0, 5.0, n, token=4, graph_read=2, arm_read=40)],
        "targets": {"noop_no_write": True}, "needed_writes": {"cors": 5},
    }
    if baseline:
        first, noop = baseline_labels("02c97d2")
        size["baseline"] = {
            "ref": "02c97d2", "sha": SHA, "short": "02c97d2", "needed_writes": {"cors": 5},
            "targets": {"noop_no_write": True, "first_run_no_failed_host": False},
            "runs": [_run(first, 40.0, 25.0, n, token=8, graph_read=4, graph_write=2, arm_read=90, arm_write=30),
                     _run(noop, 30.0, 20.0, n, token=8, graph_read=4, arm_read=80)],
        }
    return size


# ------------------------------------------------------------------------------ names
def test_worktree_is_named_by_the_short_sha():
    assert baseline_worktree_path(SHA, "/b") == "/b/baseline-02c97d2"
    assert baseline_worktree_path(SHA) == os.path.join(BASELINE_DIR, "baseline-02c97d2")
    assert BASELINE_DIR.endswith(os.path.join("build", "bench"))


def test_collections_folder_is_beside_the_worktree_not_in_it():
    worktree, collections = baseline_worktree_path(SHA, "/b"), baseline_collections_path(SHA, "/b")
    assert collections == "/b/baseline-02c97d2-collections"
    assert not collections.startswith(worktree + os.sep)


def test_labels():
    assert baseline_labels("02c97d2") == ("configure (REF 02c97d2), first run", "configure (REF 02c97d2), no-op run")


def test_baseline_runs_its_own_playbook_with_its_own_collections():
    base = Baseline(ref="main~3", sha=SHA, worktree="/b/baseline-02c97d2",
                    collections="/b/baseline-02c97d2-collections")
    assert base.short == "02c97d2"
    command = base.command("/inv/hosts.yml", 7)
    assert command[1:] == ["-i", "/inv/hosts.yml", "/b/baseline-02c97d2/playbooks/configure.yml", "-f", "7"]
    env = baseline_env({"ANSIBLE_COLLECTIONS_PATH": "/work/.venv/collections", "AZURE_X": "y"}, base)
    assert env == {"ANSIBLE_COLLECTIONS_PATH": "/b/baseline-02c97d2-collections", "AZURE_X": "y"}


def test_option_parses():
    assert parse_args(["--baseline", "02c97d2"]).baseline == "02c97d2"
    assert parse_args([]).baseline is None


# ------------------------------------------------------------------------------ the collections link
def test_link_collection_makes_and_replaces_the_link(tmp_path):
    collections = str(tmp_path / "c")
    first, second = str(tmp_path / "one"), str(tmp_path / "two")
    link = os.path.join(collections, "ansible_collections", "v7labs", "azure_storage")
    assert link_collection(collections, first) == collections and os.readlink(link) == first
    link_collection(collections, first)
    assert os.readlink(link) == first
    link_collection(collections, second)
    assert os.readlink(link) == second


def test_link_collection_leaves_a_real_folder_alone(tmp_path):
    os.makedirs(tmp_path / "c" / "ansible_collections" / "v7labs" / "azure_storage")
    with pytest.raises(RuntimeError, match="not a link"):
        link_collection(str(tmp_path / "c"), str(tmp_path / "x"))


# ------------------------------------------------------------------------------ the worktree
def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    _git(path, "init", "-q")
    for number in (1, 2):
        (path / "f.txt").write_text(f"{number}\n")
        _git(path, "add", "f.txt")
        _git(path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", f"c{number}")
    return path


def test_resolve_ref(repo):
    assert resolve_ref("HEAD~1", str(repo)) == _git(repo, "rev-parse", "HEAD~1")
    with pytest.raises(ValueError, match="not a commit"):
        resolve_ref("no-such-ref", str(repo))


def test_worktree_is_made_then_reused(repo, tmp_path):
    base_dir = str(tmp_path / "build" / "bench")
    messages = []
    made = ensure_baseline("HEAD~1", repo=str(repo), base=base_dir, log=messages.append)
    sha = _git(repo, "rev-parse", "HEAD~1")
    assert made.sha == sha and made.worktree == baseline_worktree_path(sha, base_dir)
    assert open(os.path.join(made.worktree, "f.txt")).read() == "1\n"
    assert os.readlink(os.path.join(made.collections, "ansible_collections", "v7labs", "azure_storage")) == \
        os.path.abspath(made.worktree)
    assert len(messages) == 1
    again = ensure_baseline(sha[:10], repo=str(repo), base=base_dir, log=messages.append)
    assert again.worktree == made.worktree and len(messages) == 1  # reused, not made again
    _git(repo, "worktree", "remove", "--force", made.worktree)


# ------------------------------------------------------------------------------ the report
def test_cpu_per_account_column():
    size = _size(n=10)
    assert "CPU s per account" in [c[0] for c in COLUMNS]
    assert cpu_per_account(size, size["runs"][0]) == 0.8
    old_row = {k: v for k, v in size["runs"][0].items() if k != "cpu_seconds_per_account"}
    assert cpu_per_account(size, old_row) == 0.8


def test_before_after_table():
    lines = before_after(_size(n=10))
    assert lines[0] == "N=10, before (REF 02c97d2) / after (working tree):"
    assert lines[2] == "| run | wall s | CPU s per account | token | Graph R | Graph W | ARM R | ARM W | Blob R |"
    assert lines[4] == "| first run | 40.0 / 20.0 | 2.5 / 0.8 | 8 / 4 | 4 / 2 | 2 / 2 | 90 / 50 | 30 / 30 | 0 / 0 |"
    assert lines[5] == "| no-op run | 30.0 / 10.0 | 2.0 / 0.5 | 8 / 4 | 4 / 2 | 0 / 0 | 80 / 40 | 0 / 0 | 0 / 0 |"
    assert before_after(_size(baseline=False)) == []


def test_markdown_with_a_baseline():
    results = {"sizes": [_size(n=10), _size(n=20)], "growth": None}
    text = markdown(results)
    rows = [line for line in text.splitlines() if line.startswith("| 10 |")]
    assert [line.split(" | ")[4] for line in rows] == [
        "configure", "configure (no-op)", "configure (REF 02c97d2), first run", "configure (REF 02c97d2), no-op run"]
    assert all(line.count("|") == len(COLUMNS) + 1 for line in rows)
    assert "N=10: REF 02c97d2 (02c97d2): targets not met: first_run_no_failed_host" in text
    assert text.count("before (REF 02c97d2) / after (working tree)") == 2
    assert text.index("N=10, before") < text.index("N=20, before")


def test_markdown_without_a_baseline_has_no_before_after():
    text = markdown({"sizes": [_size(baseline=False)], "growth": None})
    assert "before (REF" not in text and "REF " not in text
    assert len([line for line in text.splitlines() if line.startswith("| 10 |")]) == 2
