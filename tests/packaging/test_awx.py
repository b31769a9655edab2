"""The collection run the way AWX / Automation Controller runs it.

AWX syncs a project (examples/awx/: playbooks that import the collection's own, and
collections/requirements.yml), installs the collection next to the playbooks, and starts each job
with ansible-runner in a private data directory: the inventory, and env/envvars holding what the
job's credentials inject. Here the only credential is the built-in "Microsoft Azure Resource
Manager" one, which injects AZURE_SUBSCRIPTION_ID, AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT and
AZURE_CLOUD_ENVIRONMENT (awx/main/models/credential/injectors.py); ansible-runner itself starts
with nothing but PATH, HOME and LANG. The emulator's CA reaches the modules as an inventory
variable (v7_azure_auth.ca_bundle, what a private cloud with its own CA would use), so no other
variable is in play.

The configure job template runs with job slicing 2 on examples/awx/inventory/fabrikam.yml: two
jobs at once, each on its slice of the hosts (AWX gives slice k of n the hosts k-1, k-1+n, ...),
in a tenant that has no V7 service principal yet, so both slices race to create it. A verify job
on the whole inventory follows, as a scheduled drift check would.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.emulator.state import load_document
from tests.packaging.conftest import BIN, ROOT, Artifact, offline_env
from tests.packaging.test_artifact import expected_roles, v7_methods, v7_roles
from tests.session_cache import once_per_session

EXAMPLE_STATE = load_document(str(ROOT / "tests" / "emulator" / "states" / "example.yml"))
AWX_PROJECT = ROOT / "examples" / "awx"
INVENTORY = AWX_PROJECT / "inventory" / "fabrikam.yml"

FABRIKAM = "44444444-4444-4444-8444-444444444444"
OPERATOR = {"client_id": "bbbbbbbb-0000-4000-8000-000000000001", "object_id": "bbbbbbbb-0000-4000-8000-0000000000b1",
            "secret": "Em9-operator-Secret.fabrikam~0001"}
SUBSCRIPTION = "55555555-5555-4555-8555-555555555555"
V7_APP = "95e63529-38cc-435c-b247-32a1d62f321d"
SLICES = 2
# what the inventory asks for: containers V7 reads ([] = the account) and write access
ACCOUNTS = {
    "fabrikamfirewall": (["scans"], True, "scans/v7"),
    "fabrikamlocked": (["slides"], False, "slides/v7"),
    "fabrikamnewbox": ([], True, "annotations/v7"),
}
TOKEN_SHAPED = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.")


# ------------------------------------------------------------------ AWX's side, done by hand
def awx_credential_env(emulator) -> dict[str, str]:
    """Exactly what the "Microsoft Azure Resource Manager" credential injects (client/secret form)."""
    return {
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
        "AZURE_CLIENT_ID": OPERATOR["client_id"],
        "AZURE_TENANT": FABRIKAM,
        "AZURE_SECRET": OPERATOR["secret"],
        "AZURE_CLOUD_ENVIRONMENT": emulator.metadata_url,
    }


def sync_project(artifact: Artifact, workdir: Path) -> Path:
    """The project as AWX checks it out, with the collection installed beside the playbooks (the
    built tarball stands in for Galaxy, which is what collections/requirements.yml names)."""
    project = workdir / "project"
    shutil.copytree(AWX_PROJECT, project)
    wanted = yaml.safe_load((project / "collections" / "requirements.yml").read_text(encoding="utf-8"))
    assert [c["name"] for c in wanted["collections"]] == ["v7labs.azure_storage"]
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", artifact.tarball,
                    "-p", str(project / "collections")],
                   env=offline_env(), capture_output=True, text=True, check=True, timeout=300)
    return project


def inventory_slice(emulator, activation_dir: Path, number: int, count: int) -> dict:
    """examples/awx/inventory/fabrikam.yml, cut as AWX cuts a sliced job's inventory, with the
    emulator's CA added as the one inventory variable real Azure does not need."""
    inventory = yaml.safe_load(INVENTORY.read_text(encoding="utf-8"))
    accounts = inventory["all"]["children"]["v7_storage_accounts"]
    order = [h for group in accounts["children"].values() for h in group["hosts"]]
    keep = set(order[number - 1::count])
    for group in accounts["children"].values():
        group["hosts"] = {h: v for h, v in group["hosts"].items() if h in keep}
    accounts["vars"]["v7_azure_auth"] = {"ca_bundle": emulator.ca_bundle}
    accounts["vars"]["v7_activation_dir"] = str(activation_dir)
    return inventory


def private_data_dir(root: Path, project: Path, inventory: dict, envvars: dict) -> Path:
    (root / "env").mkdir(parents=True)
    (root / "inventory").mkdir()
    (root / "env" / "envvars").write_text(yaml.safe_dump(envvars), encoding="utf-8")
    (root / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory), encoding="utf-8")
    (root / "project").symlink_to(project, target_is_directory=True)
    return root


def start_job(pdd: Path, playbook: str, ident: str) -> subprocess.Popen:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(pdd), "LANG": "C.UTF-8"}
    return subprocess.Popen([str(BIN / "ansible-runner"), "run", str(pdd), "-p", playbook, "--ident", ident,
                             "--forks", "5"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def job_result(pdd: Path, ident: str, process: subprocess.Popen) -> dict:
    output = process.communicate(timeout=600)[0]
    artifacts = pdd / "artifacts" / ident
    events = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((artifacts / "job_events").glob("*.json"))]
    stats = [e for e in events if e.get("event") == "playbook_on_stats"]
    return {
        "rc": int((artifacts / "rc").read_text(encoding="utf-8")),
        "status": (artifacts / "status").read_text(encoding="utf-8"),
        "stdout": (artifacts / "stdout").read_text(encoding="utf-8"),
        "runner_output": output,
        "events": [{"event": e.get("event"), "host": e.get("event_data", {}).get("host"),
                    "task": e.get("event_data", {}).get("task"), "res": e.get("event_data", {}).get("res")}
                   for e in events if e.get("event", "").startswith("runner_on_")],
        "artifact_data": stats[-1]["event_data"].get("artifact_data", {}) if stats else None,
    }


def run_awx_jobs(emulator, artifact: Artifact, workdir: Path) -> dict:
    emulator.reset()
    emulator.load_state(EXAMPLE_STATE)
    emulator.clear_log()
    project = sync_project(artifact, workdir)
    envvars = awx_credential_env(emulator)
    activation = workdir / "activation"

    slices = {}
    for number in range(1, SLICES + 1):
        pdd = private_data_dir(workdir / f"slice{number}", project,
                               inventory_slice(emulator, activation, number, SLICES), envvars)
        slices[number] = (pdd, start_job(pdd, "configure.yml", f"slice{number}"))
    configure = {n: job_result(pdd, f"slice{n}", proc) for n, (pdd, proc) in slices.items()}
    configure_log = emulator.log()
    world = emulator.state()

    emulator.clear_log()
    pdd = private_data_dir(workdir / "verify", project, inventory_slice(emulator, activation, 1, 1), envvars)
    verify = job_result(pdd, "verify", start_job(pdd, "verify.yml", "verify"))
    return {
        "envvars": sorted(envvars),
        "configure": configure,
        "verify": verify,
        "configure_log": configure_log,
        "verify_log": emulator.log(),
        "world": world,
    }


@pytest.fixture(scope="module")
def jobs(emulator_process, artifact: Artifact, tmp_path_factory) -> dict:
    return once_per_session(tmp_path_factory, "packaging_awx",
                            lambda workdir: run_awx_jobs(emulator_process, artifact, workdir))


# ------------------------------------------------------------------ what the world looks like after
def fabrikam(world: dict) -> dict:
    return next(t for t in world["tenants"] if t["id"] == FABRIKAM)


def hosts_of(job: dict) -> set[str]:
    """The storage accounts a job worked on (the playbooks' inventory check runs on localhost)."""
    return {e["host"] for e in job["events"] if e["host"] and e["host"] != "localhost"}


# ------------------------------------------------------------------ the tests
def test_the_job_environment_is_exactly_what_the_azure_credential_injects(jobs):
    assert jobs["envvars"] == sorted(["AZURE_SUBSCRIPTION_ID", "AZURE_CLIENT_ID", "AZURE_TENANT", "AZURE_SECRET",
                                      "AZURE_CLOUD_ENVIRONMENT"])


@pytest.mark.parametrize("number", range(1, SLICES + 1))
def test_each_slice_of_the_configure_job_succeeds(jobs, number):
    job = jobs["configure"][str(number)]
    assert (job["rc"], job["status"]) == (0, "successful"), job["stdout"][-3000:]
    assert not [e for e in job["events"] if e["event"] in ("runner_on_failed", "runner_on_unreachable")]


def test_the_slices_split_the_inventory_as_awx_does(jobs):
    first, second = (hosts_of(jobs["configure"][str(n)]) for n in range(1, SLICES + 1))
    assert first == {"fabrikamfirewall", "fabrikamnewbox"} and second == {"fabrikamlocked"}


def test_every_call_signed_in_with_the_injected_credential(jobs):
    callers = {e["caller"] for e in jobs["configure_log"] if e["kind"] in ("arm", "graph")}
    assert callers == {OPERATOR["object_id"]}


def test_both_slices_end_with_one_v7_service_principal(jobs):
    principals = [sp for sp in fabrikam(jobs["world"])["service_principals"] if sp["app_id"] == V7_APP]
    assert len(principals) == 1
    created = [e for e in jobs["configure_log"]
               if e["kind"] == "graph" and e["method"] == "POST" and e["status"] == 201]
    assert len(created) == 1


@pytest.mark.parametrize("account", ACCOUNTS)
def test_every_account_of_every_slice_is_configured(jobs, account):
    containers, write = ACCOUNTS[account][:2]
    assert v7_roles(jobs["world"], account) == expected_roles(containers, write)
    assert {"GET", "PUT"} <= v7_methods(jobs["world"], account)


def test_the_jobs_artifacts_hold_every_accounts_activation_details(jobs):
    """AWX keeps set_stats data as the job's artifacts: together the slices list every account."""
    merged = {}
    for job in jobs["configure"].values():
        merged.update(job["artifact_data"]["v7_activation"])
    assert sorted(merged) == sorted(ACCOUNTS)
    for account, (unused_containers, write, prefix) in ACCOUNTS.items():
        entry = merged[account]
        assert (entry["tenant_id"], entry["prefix"], entry["write"], entry["team"]) == (
            FABRIKAM, prefix, write, "fabrikam-research")


def test_the_scheduled_verify_job_fails_only_the_blocked_account_and_writes_nothing(jobs):
    job = jobs["verify"]
    # fabrikamlocked is configured, but its firewall keeps one of V7's IPs out: verify fails it
    assert (job["rc"], job["status"]) == (2, "failed"), job["stdout"][-3000:]
    failed = {e["host"] for e in job["events"] if e.get("event") == "runner_on_failed"}
    assert failed == {"fabrikamlocked"}, job["stdout"][-3000:]
    assert "Storage account fabrikamlocked is configured for V7 but blocked" in job["stdout"]
    assert hosts_of(job) == set(ACCOUNTS)
    assert not [e for e in jobs["verify_log"] if e["write"]]


def test_no_job_output_event_or_artifact_shows_the_secret_or_a_token(jobs):
    """What AWX stores and shows of a job: its stdout, its events and its artifacts."""
    for job in [*jobs["configure"].values(), jobs["verify"]]:
        shown = json.dumps([job["stdout"], job["events"], job["artifact_data"]])
        assert OPERATOR["secret"] not in shown
        assert not TOKEN_SHAPED.search(shown)
