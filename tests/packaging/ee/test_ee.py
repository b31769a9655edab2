"""`make ee`, second half: the configure and verify jobs of examples/awx/ run inside the execution
environment image that tests/packaging/ee/build.sh built, the way AWX runs a job: ansible-runner
with process isolation in a container of that image (podman), a private data directory holding
the project, the inventory and env/envvars with exactly what the "Microsoft Azure Resource Manager"
credential injects. The project is examples/awx/ alone: the collection comes from the image.

The container shares the host's network, where the Azure emulator listens on loopback. It runs
as the user that owns the private data directory, as ansible-runner does by itself with docker.
The emulator's CA reaches the modules as an inventory variable (v7_azure_auth.ca_bundle), as
in tests/packaging/test_awx.py; the activation details go to /runner/activation, in the private
data directory, so they can be read after the job.

Skipped unless V7_EE_IMAGE names the image (make ee sets it)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.emulator.state import load_document
from tests.packaging.conftest import BIN, ROOT
from tests.packaging.test_artifact import expected_roles, v7_methods, v7_roles
from tests.packaging.test_awx import ACCOUNTS, FABRIKAM, INVENTORY, OPERATOR, TOKEN_SHAPED, V7_APP, awx_credential_env

IMAGE = os.environ.get("V7_EE_IMAGE", "")
pytestmark = pytest.mark.skipif(not IMAGE, reason="make ee runs these, with the image it built in V7_EE_IMAGE")
EXAMPLE_STATE = load_document(str(ROOT / "tests" / "emulator" / "states" / "example.yml"))
CONTAINERS_CONF = ROOT / "build" / "ee" / "containers.conf"


def private_data_dir(root: Path, emulator, envvars: dict) -> Path:
    inventory = yaml.safe_load(INVENTORY.read_text(encoding="utf-8"))
    accounts = inventory["all"]["children"]["v7_storage_accounts"]["vars"]
    accounts["v7_azure_auth"] = {"ca_bundle": "/runner/inventory/emulator-ca.pem"}
    accounts["v7_activation_dir"] = "/runner/activation"
    (root / "env").mkdir(parents=True)
    (root / "inventory").mkdir()
    (root / "activation").mkdir()
    (root / "env" / "envvars").write_text(yaml.safe_dump(envvars), encoding="utf-8")
    (root / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    shutil.copy(emulator.ca_bundle, root / "inventory" / "emulator-ca.pem")
    shutil.copytree(ROOT / "examples" / "awx", root / "project", ignore=shutil.ignore_patterns("inventory"))
    return root


def run_job(pdd: Path, playbook: str, ident: str) -> dict:
    env = {"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(pdd), "LANG": "C.UTF-8",
           "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    done = subprocess.run(
        [str(BIN / "ansible-runner"), "run", str(pdd), "-p", playbook, "--ident", ident, "--forks", "5",
         "--process-isolation", "--process-isolation-executable", "podman", "--container-image", IMAGE,
         "--container-option=--network=host", f"--container-option=--user={os.getuid()}"],
        env=env, capture_output=True, text=True, timeout=1200, check=False)
    artifacts = pdd / "artifacts" / ident
    events = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((artifacts / "job_events").glob("*.json"))]
    stats = [e for e in events if e.get("event") == "playbook_on_stats"]
    return {
        "rc": int((artifacts / "rc").read_text(encoding="utf-8")) if (artifacts / "rc").exists() else done.returncode,
        "status": (artifacts / "status").read_text(encoding="utf-8") if (artifacts / "status").exists() else "",
        "stdout": (artifacts / "stdout").read_text(encoding="utf-8") if (artifacts / "stdout").exists() else "",
        "runner_output": done.stdout + done.stderr,
        "command": json.loads((artifacts / "command").read_text(encoding="utf-8"))["command"]
        if (artifacts / "command").exists() else [],
        "hosts": sorted({e.get("event_data", {}).get("host") for e in events
                         if e.get("event", "").startswith("runner_on_")} - {None, "localhost"}),
        "artifact_data": stats[-1]["event_data"].get("artifact_data", {}) if stats else None,
        "events": [e.get("event_data", {}).get("res") for e in events],
    }


@pytest.fixture(scope="module")
def jobs(emulator_process, tmp_path_factory) -> dict:
    emulator = emulator_process
    emulator.reset()
    emulator.load_state(EXAMPLE_STATE)
    emulator.clear_log()
    pdd = private_data_dir(tmp_path_factory.mktemp("ee-job"), emulator, awx_credential_env(emulator))
    configure = run_job(pdd, "configure.yml", "configure")
    configure_log, world = emulator.log(), emulator.state()
    emulator.clear_log()
    verify = run_job(pdd, "verify.yml", "verify")
    result = {"configure": configure, "verify": verify, "configure_log": configure_log, "world": world,
              "verify_log": emulator.log(), "activation": sorted(p.name for p in (pdd / "activation").iterdir())}
    for name in ("configure", "verify"):
        print(f"\n{name}: rc {result[name]['rc']}, {result[name]['status']}; "
              f"{' '.join(result[name]['command'][:12])} ...", file=sys.stderr)
    return result


def test_each_job_ran_in_a_container_of_the_image(jobs):
    for job in (jobs["configure"], jobs["verify"]):
        assert job["command"][:2] == ["podman", "run"], job["runner_output"][-2000:]
        assert IMAGE in job["command"] and "--network=host" in job["command"]


def test_the_configure_job_succeeds_on_every_account(jobs):
    job = jobs["configure"]
    assert (job["rc"], job["status"]) == (0, "successful"), job["stdout"][-3000:] + job["runner_output"][-2000:]
    assert job["hosts"] == sorted(ACCOUNTS)


@pytest.mark.parametrize("account", ACCOUNTS)
def test_every_account_is_configured(jobs, account):
    containers, write = ACCOUNTS[account][:2]
    assert v7_roles(jobs["world"], account) == expected_roles(containers, write)
    assert {"GET", "PUT"} <= v7_methods(jobs["world"], account)


def test_the_tenant_ends_with_one_v7_principal_made_with_the_injected_credential(jobs):
    tenant = next(t for t in jobs["world"]["tenants"] if t["id"] == FABRIKAM)
    assert len([sp for sp in tenant["service_principals"] if sp["app_id"] == V7_APP]) == 1
    assert {e["caller"] for e in jobs["configure_log"] if e["kind"] in ("arm", "graph")} == {OPERATOR["object_id"]}


def test_the_activation_details_are_written_and_in_the_jobs_artifacts(jobs):
    assert jobs["activation"] == ["fabrikam-research.json", "fabrikam-research.md"]
    assert sorted(jobs["configure"]["artifact_data"]["v7_activation"]) == sorted(ACCOUNTS)


def test_the_verify_job_fails_only_the_blocked_account_and_writes_nothing(jobs):
    job = jobs["verify"]
    # fabrikamlocked is configured, but its firewall keeps one of V7's IPs out: verify fails it
    assert (job["rc"], job["status"]) == (2, "failed"), job["stdout"][-3000:] + job["runner_output"][-2000:]
    assert "Storage account fabrikamlocked is configured for V7 but blocked" in job["stdout"]
    assert "fatal: [fabrikamlocked]" in job["stdout"] and "fatal: [fabrikamfirewall]" not in job["stdout"]
    assert job["hosts"] == sorted(ACCOUNTS)
    assert not [e for e in jobs["verify_log"] if e["write"]]


def test_no_output_or_event_shows_the_secret_or_a_token(jobs):
    for job in (jobs["configure"], jobs["verify"]):
        shown = json.dumps([job["stdout"], job["events"], job["artifact_data"]])
        assert OPERATOR["secret"] not in shown
        assert not TOKEN_SHAPED.search(shown)
