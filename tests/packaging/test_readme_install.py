"""The README's "Use it" section, run as a user would paste it into a shell: from an empty folder,
with an empty home and no Python environment of ours on PATH, so the section's own first line makes
the empty virtual environment that `pip install ansible-core` fills. Each line runs in turn in
bash (what one line exports or activates carries over to the next), and the inventory is the
section's YAML block, saved as the file it names.

The user's home is an empty folder: as root, each line runs in a private mount namespace where
that folder is mounted over root's home, so both $HOME and root's home in the password database
(which Ansible uses to expand `~` in some paths, as in the activation directory) are the empty
folder, and nothing lands in the real home. Elsewhere HOME alone points at it.

Three things differ from a user's shell, each the least that lets it run here: Galaxy is not
reachable, so the collection's name on the install line becomes the built tarball; the sign-in
line's values become the emulator's test identity, and its cloud (AZURE_CLOUD_ENVIRONMENT and its
CA bundle) is exported with them; the world in the emulator is the one the inventory describes.
pip installs from the package index this machine's pip is set up with."""
from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.packaging.conftest import FQCN, ROOT, Artifact
from tests.packaging.test_artifact import expected_roles, v7_methods, v7_roles
from tests.session_cache import once_per_session

SECTION = re.compile(r"^## Use it\n(?P<body>.*?)^## ", re.MULTILINE | re.DOTALL)
BLOCK = re.compile(r"^```(?P<lang>\w+)\n(?P<text>.*?)^```", re.MULTILINE | re.DOTALL)
V7_APP = "95e63529-38cc-435c-b247-32a1d62f321d"
OPERATOR = {"client_id": "cccccccc-0000-4000-8000-000000000001", "object_id": "cccccccc-0000-4000-8000-0000000000c1",
            "secret": "Em9-readme-Secret~0001"}


def section() -> str:
    found = SECTION.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert found, "README.md has no '## Use it' section followed by another '## ' section"
    return found.group("body")


def shell_lines() -> list[str]:
    return [line for block in BLOCK.finditer(section()) if block["lang"] == "sh"
            for line in block["text"].splitlines() if line.strip()]


def inventory() -> tuple[str, str]:
    """(file name, text) of the section's YAML block, whose first line names its file."""
    blocks = [b["text"] for b in BLOCK.finditer(section()) if b["lang"] == "yaml"]
    assert len(blocks) == 1, "the 'Use it' section should show one inventory"
    name = re.match(r"# (\S+):", blocks[0])
    assert name, "the inventory block's first line should be '# <file name>: ...'"
    return name.group(1), blocks[0]


def the_account() -> tuple[str, dict, dict]:
    document = yaml.safe_load(inventory()[1])
    group = document["all"]["children"]["v7_storage_accounts"]
    (host, host_vars), = group["hosts"].items()
    return host, group["vars"], host_vars


def world() -> dict:
    """The Azure the inventory describes: its tenant, subscription, resource group and account
    (with the containers it names), an operator who owns the subscription and may create service
    principals, and no V7 service principal yet."""
    host, group_vars, host_vars = the_account()
    containers = sorted({*host_vars["v7_containers"], host_vars["v7_prefix"].split("/")[0]})
    return {
        "tenants": [{
            "id": group_vars["v7_tenant_id"],
            "display_name": "Readme",
            "identities": [{**OPERATOR, "display_name": "readme-operator",
                            "graph_permissions": ["Application.ReadWrite.All"]}],
            "service_principals": [],
            "subscriptions": [{"id": host_vars["v7_subscription_id"], "display_name": "readme",
                               "resource_groups": [{"name": host_vars["v7_resource_group"], "location": "westeurope",
                                                    "storage_accounts": [{"name": host, "kind": "StorageV2",
                                                                          "sku": "Standard_LRS",
                                                                          "containers": containers}]}]}],
            "role_assignments": [{"scope": f"/subscriptions/{host_vars['v7_subscription_id']}", "role": "Owner",
                                  "principal_id": OPERATOR["object_id"]}],
        }],
    }


def as_run_here(line: str, emulator, tarball: str) -> str:
    argv = shlex.split(line)
    if argv[:3] == ["ansible-galaxy", "collection", "install"] and FQCN in argv:
        return shlex.join([tarball if arg == FQCN else arg for arg in argv])
    if argv[:1] == ["export"] and any(arg.startswith("AZURE_SECRET=") for arg in argv):
        values = {"AZURE_TENANT": the_account()[1]["v7_tenant_id"], "AZURE_CLIENT_ID": OPERATOR["client_id"],
                  "AZURE_SECRET": OPERATOR["secret"]}
        names = [arg.split("=", 1)[0] for arg in argv[1:]]
        assert sorted(names) == sorted(values), line
        return shlex.join(["export", *(f"{k}={values[k]}" for k in names),
                           *(f"{k}={v}" for k, v in emulator.env().items())])
    return line


def run_as_a_user(emulator, artifact: Artifact, workdir: Path) -> dict:
    emulator.reset()
    emulator.load_state(world())
    emulator.clear_log()
    home, here = workdir / "home", workdir / "here"
    home.mkdir()
    here.mkdir()
    own_home = os.geteuid() == 0 and shutil.which("unshare")
    user_home = pwd.getpwuid(os.geteuid()).pw_dir if own_home else str(home)
    name, text = inventory()
    (here / name).write_text(text, encoding="utf-8")
    state = workdir / "shell-state"
    state.write_text("", encoding="utf-8")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": user_home, "LANG": "C.UTF-8", "ANSIBLE_NOCOLOR": "1",
           "STATE": str(state)}
    steps = []
    for line in shell_lines():
        script = f'source "$STATE"\n{as_run_here(line, emulator, artifact.tarball)}\nrc=$?\nexport -p > "$STATE"\nexit $rc\n'
        before = len(emulator.writes())
        argv = ["bash", "-c", script]
        if own_home:
            argv = ["unshare", "--mount", "--propagation", "private", "bash", "-c",
                    'mount --bind "$0" "$HOME" && cd "$1" && exec bash -c "$2"', str(home), str(here), script]
        done = subprocess.run(argv, cwd=here, env=env, capture_output=True, text=True, timeout=900, check=False)
        steps.append({"line": line, "rc": done.returncode, "output": done.stdout + done.stderr,
                      "writes": [e["path"] for e in emulator.writes()[before:]]})
    return {"steps": steps, "world": emulator.state(), "home": str(home),
            "callers": sorted({e["caller"] for e in emulator.log() if e["kind"] in ("arm", "graph")})}


@pytest.fixture(scope="module")
def pasted(emulator_process, artifact: Artifact, tmp_path_factory) -> dict:
    return once_per_session(tmp_path_factory, "packaging_readme_use_it",
                            lambda workdir: run_as_a_user(emulator_process, artifact, workdir))


def step(pasted: dict, start: str) -> dict:
    found = [s for s in pasted["steps"] if s["line"].startswith(start)]
    assert len(found) == 1, (start, [s["line"] for s in pasted["steps"]])
    return found[0]


def test_the_section_installs_ansible_core_then_the_collection_then_runs_the_three_playbooks():
    lines = [shlex.split(line) for line in shell_lines()]
    assert lines[0][:3] == ["python3", "-m", "venv"]
    assert [line[:4] for line in lines[1:4]] == [["python3", "-m", "pip", "install"],
                                                 ["ansible-galaxy", "collection", "install", FQCN],
                                                 ["python3", "-m", "pip", "install"]]
    assert lines[1][4:] == ["ansible-core"]
    assert [line[3] for line in lines if line[:1] == ["ansible-playbook"]] == [
        f"{FQCN}.configure", f"{FQCN}.configure", f"{FQCN}.verify"]


def test_the_inventory_puts_the_account_in_group_v7_storage_accounts():
    document = yaml.safe_load(inventory()[1])
    assert list(document["all"]["children"]) == ["v7_storage_accounts"]
    host, group_vars, host_vars = the_account()
    assert {"v7_tenant_id", "v7_team"} <= set(group_vars)
    assert {"v7_subscription_id", "v7_resource_group", "v7_prefix"} <= set(host_vars)


def test_every_line_runs(pasted):
    for done in pasted["steps"]:
        assert done["rc"] == 0, f"{done['line']}\n{done['output'][-3000:]}"


def test_ansible_core_and_the_collection_land_in_the_new_environment_and_home(pasted):
    assert "Successfully installed" in step(pasted, "python3 -m pip install ansible-core")["output"]
    installed = Path(pasted["home"], ".ansible", "collections", "ansible_collections", "v7labs", "azure_storage")
    assert (installed / "MANIFEST.json").is_file()
    assert Path(pasted["home"], "v7-venv", "bin", "ansible-playbook").is_file()


def test_the_preview_writes_nothing(pasted):
    preview = step(pasted, "ansible-playbook -i inventory.yml v7labs.azure_storage.configure --check")
    assert preview["writes"] == []
    assert re.search(r"changed=[1-9]", preview["output"]), preview["output"][-2000:]


def test_configure_sets_the_account_up_as_the_inventory_asks(pasted):
    configure = [s for s in pasted["steps"] if s["line"].endswith("v7labs.azure_storage.configure")]
    assert len(configure) == 1 and configure[0]["writes"], configure
    host, unused, host_vars = the_account()
    assert v7_roles(pasted["world"], host) == expected_roles(host_vars["v7_containers"], host_vars["v7_write"])
    assert {"GET", "PUT"} <= v7_methods(pasted["world"], host)
    principals = [sp for sp in pasted["world"]["tenants"][0]["service_principals"] if sp["app_id"] == V7_APP]
    assert len(principals) == 1
    activation = sorted(p.name for p in Path(pasted["home"], "v7-activation").iterdir())
    assert activation == ["my-v7-team.json", "my-v7-team.md"]


def test_verify_passes_and_writes_nothing(pasted):
    verify = step(pasted, "ansible-playbook -i inventory.yml v7labs.azure_storage.verify")
    assert verify["writes"] == []
    assert re.search(rf"^{the_account()[0]}\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=0", verify["output"], re.M)


def test_only_the_exported_identity_signed_in(pasted):
    assert pasted["callers"] == [OPERATOR["object_id"]]
