"""`make demo`, the first command the README gives, as a reader sees it: every command it shows is
whole, no failure reason is cut, and it says where it wrote and what it cost."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest

from tests.demo.__main__ import ROOT, WIDTH, shown, summary, summary_lines
from tests.packaging.conftest import tool_env

LONG = ("Storage account contosopremium cannot be set up for V7: kind StorageV2 with premium sku Premium_LRS "
        "holds page blobs only and Azure does not support CORS on it. Nothing was changed on it; fix this and "
        "run again, or take the account out of the inventory.")


def test_a_long_reason_is_wrapped_at_words_and_kept_whole():
    lines = summary_lines(summary([{"host": "contosopremium", "status": "failed", "result": {"msg": LONG + "\nmore"}},
                                   {"host": "contosofresh", "status": "ok", "result": {}}]))
    assert lines[0].split() == ["contosofresh", "ready"]
    assert all(len(line) <= WIDTH for line in lines)
    assert " ".join(" ".join(lines[1:]).split()[1:]) == "NOT READY: " + LONG
    assert all(line.startswith(" " * 24) for line in lines[2:])


def test_the_command_header_is_the_whole_command_from_the_repository():
    cmd = [os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", os.path.join(ROOT, "examples", "inventory"),
           os.path.join(ROOT, "playbooks", "configure.yml"), "-f", "10", "-e", '{"v7_activation_dir": "x y"}']
    assert shlex.split(shown(cmd)) == ["ansible-playbook", "-i", "examples/inventory", "playbooks/configure.yml",
                                       "-f", "10", "-e", '{"v7_activation_dir": "x y"}']


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess:
    env = tool_env(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".venv", "collections"))
    return subprocess.run([sys.executable, "-m", "tests.demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900, check=False)


def test_the_demo_passes_and_says_where_it_wrote_and_what_it_cost(demo):
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-2000:]
    out = demo.stdout
    assert ("demo: OK (2 accounts cannot be made ready and 1 is configured but blocked by its firewall, as expected)"
            in out)
    # the summary shows each account's state as the activation files record it
    assert re.search(r"^  fabrikamlocked\s+BLOCKED: the firewall denies by default", out, re.M), out
    assert re.search(r"^  contosofresh\s+ready$", out, re.M) and "  localhost " not in out
    assert re.search(r"^Everything the demo wrote is in build/demo/ \(the next make demo replaces it\)\. "
                     r"It took \d+ s and \d+ CPU seconds\.$", out, re.M), out[-1500:]
    assert sorted(os.listdir(os.path.join(ROOT, "build", "demo", "activation"))) == [
        f"{team}.{ext}" for team in ("contoso-media", "contoso-vision", "fabrikam-research") for ext in ("json", "md")]


def test_the_demo_shows_each_command_whole(demo):
    headers = re.findall(r"^===== (first|second) run: (.*) =====$", demo.stdout, re.M)
    assert [label for label, unused_command in headers] == ["first", "second"]
    for unused_label, command in headers:
        argv = shlex.split(command)
        assert argv[:6] == ["ansible-playbook", "-i", "examples/inventory", "playbooks/configure.yml", "-f", "10"]
        assert argv[6] == "-e" and "v7_activation_dir" in argv[7]


def test_no_reason_in_the_summary_is_cut(demo):
    summary_block = demo.stdout.split("===== summary per storage account =====\n", 1)[1].split("\n\n", 1)[0]
    reasons = re.split(r"^  (?=\w)", summary_block, flags=re.M)
    not_ready = [" ".join(r.split()[1:]) for r in reasons if "NOT READY" in r]
    assert len(not_ready) == 2
    for reason in not_ready:
        assert reason.endswith((".", ")")), reason
