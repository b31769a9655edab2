"""The collection as Ansible users get it: the tarball `ansible-galaxy collection build` makes, and
playbooks/configure.yml run from the copy `ansible-galaxy collection install` puts in an empty
collections path, with the example inventory shipped inside it, against the emulator seeded with
the same world (tests/emulator/states/example.yml), as `make demo` does from the working tree."""
from __future__ import annotations

import fnmatch
import functools
import json
import re
import subprocess
import tarfile

import pytest

from tests.emulator.state import load_document
from tests.fidelity.spec_check import arm_problems
from tests.session_cache import once_per_session
from tests.packaging.conftest import BIN, FQCN, GALAXY, NAME, NAMESPACE, ROOT, VERSION, Artifact, tool_env

EXAMPLE_STATE = load_document(str(ROOT / "tests" / "emulator" / "states" / "example.yml"))
CALLBACKS = ROOT / "tests" / "integration" / "callback_plugins"
SECRETS = ("Em9-operator-Secret.contoso~0001", "Em9-operator-Secret.fabrikam~0001")

V7_APP = "95e63529-38cc-435c-b247-32a1d62f321d"
V7 = "https://darwin.v7labs.com"
READER, CONTRIBUTOR, DELEGATOR = "Reader", "Contributor", "Delegator"
ROLE_IDS = {
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": READER,       # Storage Blob Data Reader
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": CONTRIBUTOR,  # Storage Blob Data Contributor
    "db58b8e5-c6ad-4a2a-8342-4190687cbf4a": DELEGATOR,    # Storage Blob Delegator
}
ACCOUNT = "account"

# The accounts examples/inventory makes ready: (name, the containers V7 reads, write access).
READY = [
    ("contosofresh", ["images"], True),
    ("contosomanual", [], True),
    ("contosohalf", ["raw", "curated"], True),
    ("contosoreadonly", [], False),
    ("fabrikamfirewall", ["scans"], True),
    ("fabrikamlocked", ["slides"], False),
    ("fabrikamnewbox", [], True),
]
# ... and the two it cannot, with what stops them.
NOT_READY = {
    "contosopremium": "holds page blobs only",
    "fabrikambadprefix": "is not in the form container-name/folder-name",
}
# What each V7 team's activation file lists: ready accounts, and those that stopped.
TEAMS = {
    "contoso-vision": (["contosofresh", "contosohalf", "contosomanual"], []),
    "contoso-media": (["contosoreadonly"], ["contosopremium"]),
    "fabrikam-research": (["fabrikamfirewall", "fabrikamlocked", "fabrikamnewbox"], ["fabrikambadprefix"]),
}


# ------------------------------------------------------------------------ the tarball
@functools.cache
def members(tarball: str) -> list[str]:
    with tarfile.open(tarball) as archive:
        return [m.name.removeprefix("./") for m in archive.getmembers()]


@pytest.mark.parametrize("pattern", [
    "tests", "tests/*", "molecule", "molecule/*", ".venv*", "*pyvenv.cfg", "*site-packages*", "build", "build/*",
    "context/*",
    "*emulator*", "*__pycache__*", "*.pyc", "*.pytest_cache*", "*.hypothesis*", "*.ansible/*", ".git", ".git/*",
    ".ci", ".ci/*", ".gitignore", ".ansible-lint", "Makefile", "requirements-test.txt", "*.tar.gz",
    "changelogs/.plugin-cache.yaml",
])
def test_the_tarball_holds_nothing_of_development(artifact: Artifact, pattern: str):
    found = fnmatch.filter(members(artifact.tarball), pattern)
    assert not found, f"the built collection contains {len(found)} such files, {found[:5]}...: add to build_ignore in galaxy.yml"


@pytest.mark.parametrize("path", [
    "MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.rst", "changelogs/changelog.yaml",
    "meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt", "bindep.txt",
    *(f"plugins/modules/{m}.py" for m in ("v7_service_principal", "v7_storage_roles", "v7_blob_cors",
                                          "v7_storage_account_info", "v7_blob_container")),
    "plugins/doc_fragments/azure_auth.py", "plugins/module_utils/module.py",
    "roles/storage_integration/meta/argument_specs.yml", "roles/storage_integration/tasks/main.yml",
    "playbooks/configure.yml", "playbooks/verify.yml", "playbooks/offboard.yml",
    "examples/inventory/hosts.yml", "examples/execution-environment.yml",
])
def test_the_tarball_holds_what_users_run(artifact: Artifact, path: str):
    assert path in members(artifact.tarball)


def test_the_tarball_carries_the_full_gpl_3_text_that_galaxy_yml_names(artifact: Artifact):
    assert GALAXY["license"] == ["GPL-3.0-or-later"]
    text = (artifact.installed / "LICENSE").read_text(encoding="utf-8")
    assert text == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.split()[:6] == ["GNU", "GENERAL", "PUBLIC", "LICENSE", "Version", "3,"]
    assert "END OF TERMS AND CONDITIONS" in text and "How to Apply These Terms to Your New Programs" in text
    assert len(text.splitlines()) == 674


def test_the_manifest_names_the_collection_and_version_of_galaxy_yml(artifact: Artifact):
    info = json.loads((artifact.installed / "MANIFEST.json").read_text(encoding="utf-8"))["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == (NAMESPACE, NAME, VERSION)


def test_ansible_finds_only_the_installed_copy(artifact: Artifact):
    listed = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "list", FQCN, "--format", "json"],
        env=tool_env(**only_the_installed_copy(artifact)), capture_output=True, text=True, check=True)
    assert json.loads(listed.stdout) == {str(artifact.installed.parent.parent): {FQCN: {"version": VERSION}}}


# ------------------------------------------------------------------------ configure.yml from the installed copy
def only_the_installed_copy(artifact: Artifact) -> dict[str, str]:
    return {"ANSIBLE_COLLECTIONS_PATH": artifact.collections_path, "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false"}


def configure(emulator, artifact: Artifact, workdir) -> dict:
    """configure.yml and the example inventory, both from the installed copy, over the example world."""
    emulator.reset()
    emulator.load_state(EXAMPLE_STATE)
    results, activation = workdir / "results.json", workdir / "activation"
    env = tool_env(
        **emulator.env(),  # the emulator's metadata URL and CA bundle; each tenant signs in from the inventory
        **only_the_installed_copy(artifact),
        ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS),
        ANSIBLE_CALLBACKS_ENABLED="result_file",
        RESULT_FILE=str(results),
    )
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(artifact.installed / "examples" / "inventory"),
         str(artifact.installed / "playbooks" / "configure.yml"), "-f", "10",
         "-e", json.dumps({"v7_activation_dir": str(activation)})],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False)
    log = emulator.log()
    return {
        "rc": done.returncode,
        "output": done.stdout + done.stderr,
        "results": json.loads(results.read_text(encoding="utf-8")) if results.exists() else [],
        "world": emulator.state(),
        "writes": [e for e in log if e["write"]],
        "spec_problems": arm_problems(log, emulator.url),
        "activation": {p.name: p.read_text(encoding="utf-8") for p in sorted(activation.iterdir())}
        if activation.is_dir() else {},
    }


@pytest.fixture(scope="module")
def configured(emulator_process, artifact: Artifact, tmp_path_factory) -> dict:
    return once_per_session(tmp_path_factory, "packaging_configure",
                            lambda workdir: configure(emulator_process, artifact, workdir))


def accounts_of(world: dict) -> dict[str, dict]:
    return {a["name"]: a for t in world["tenants"] for s in t["subscriptions"] for g in s["resource_groups"]
            for a in g["storage_accounts"]}


def v7_roles(world: dict, account: str) -> set[tuple[str, str]]:
    """V7's roles on one account: (role, 'account' or the container's name), held by V7's principal."""
    found = set()
    for tenant in world["tenants"]:
        v7 = {sp["object_id"] for sp in tenant["service_principals"] if sp["app_id"] == V7_APP}
        for assignment in tenant["role_assignments"]:
            role = ROLE_IDS.get(assignment["role"])
            scope = re.search(rf"/storageAccounts/{account}(?:/blobServices/default/containers/([^/]+))?$",
                              assignment["scope"], re.IGNORECASE)
            if role and scope and assignment["principal_id"] in v7:
                found.add((role, scope.group(1) or ACCOUNT))
    return found


def expected_roles(containers: list[str], write: bool) -> set[tuple[str, str]]:
    scopes = containers or [ACCOUNT]
    return {(DELEGATOR, ACCOUNT)} | {(READER, s) for s in scopes} | ({(CONTRIBUTOR, s) for s in scopes} if write else set())


def v7_methods(world: dict, account: str) -> set[str]:
    return {m for rule in accounts_of(world)[account].get("cors_rules", []) if V7 in rule["allowedOrigins"]
            for m in rule["allowedMethods"]}


def failed_accounts(configured: dict) -> dict[str, str]:
    return {r["host"]: str(r["result"].get("msg")) for r in configured["results"] if r["status"] == "failed"}


def test_configure_exits_2_because_two_accounts_cannot_be_made_ready(configured):
    assert configured["rc"] == 2, configured["output"][-3000:]
    assert set(failed_accounts(configured)) == set(NOT_READY)


@pytest.mark.parametrize("account, why", NOT_READY.items())
def test_an_account_that_cannot_be_made_ready_says_why_and_is_left_alone(configured, account, why):
    assert why in failed_accounts(configured)[account]
    assert not [w["path"] for w in configured["writes"] if f"/storageAccounts/{account}" in w["path"]]


@pytest.mark.parametrize("account, containers, write", READY)
def test_a_ready_account_ends_configured(configured, account, containers, write):
    world = configured["world"]
    assert v7_roles(world, account) == expected_roles(containers, write)
    assert {"GET", "PUT"} <= v7_methods(world, account)


def test_v7s_service_principal_was_created_in_the_tenant_that_lacked_it(configured):
    fabrikam = next(t for t in configured["world"]["tenants"] if t["display_name"] == "Fabrikam")
    assert [sp["app_id"] for sp in fabrikam["service_principals"]] == [V7_APP]


@pytest.mark.parametrize("team, listed", TEAMS.items())
def test_each_team_gets_its_activation_files(configured, team, listed):
    ready, not_ready = listed
    details = json.loads(configured["activation"][f"{team}.json"])
    assert [i["storage_account"] for i in details["integrations"]] == ready
    assert details["not_ready"] == not_ready
    markdown = configured["activation"][f"{team}.md"]
    assert all(account in markdown for account in ready)


def test_the_activation_files_are_the_three_teams_and_nothing_else(configured):
    assert sorted(configured["activation"]) == sorted(f"{t}.{ext}" for t in TEAMS for ext in ("json", "md"))


def test_no_secret_shows_in_the_output_or_the_activation_files(configured):
    shown = configured["output"] + "".join(configured["activation"].values())
    assert not [s for s in SECRETS if s in shown]


def test_every_arm_reply_matches_microsofts_specs(configured):
    assert configured["spec_problems"] == []
