"""The README's install section, run as a user would paste it into a shell on a fresh account:
HOME is an empty folder, so `ansible-galaxy collection install` fills the default collections
path that the pip line names. Galaxy is not reachable here, so the collection's name on the first
line becomes the built tarball, as the README says to do with one; `my-inventory` is a copy of the
example inventory that the installed collection ships, and the emulator stands in for Azure."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.emulator.state import load_document
from tests.packaging.conftest import BIN, FQCN, ROOT, Artifact, offline_env
from tests.session_cache import once_per_session

EXAMPLE_STATE = load_document(str(ROOT / "tests" / "emulator" / "states" / "example.yml"))
SECTION = re.compile(r"^## Install\n(?P<body>.*?)^## ", re.MULTILINE | re.DOTALL)
BLOCK = re.compile(r"^```sh\n(?P<lines>.*?)^```", re.MULTILINE | re.DOTALL)
READY = {"contosofresh", "contosomanual", "contosohalf", "contosoreadonly",
         "fabrikamfirewall", "fabrikamlocked", "fabrikamnewbox"}


def install_lines(readme: str) -> list[list[str]]:
    section = SECTION.search(readme)
    assert section, "README.md has no '## Install' section"
    block = BLOCK.search(section.group("body"))
    assert block, "the install section has no ```sh block"
    return [shlex.split(line) for line in block.group("lines").splitlines() if line.strip()]


def run_as_a_user(emulator, artifact: Artifact, workdir: Path) -> dict:
    emulator.reset()
    emulator.load_state(EXAMPLE_STATE)
    emulator.clear_log()
    home = workdir / "home"
    home.mkdir()
    # the emulator's cloud and CA; each tenant signs in from the example inventory's v7_azure_auth
    # (nothing may leave the machine: every proxy-aware client is pointed at a dead proxy, except
    # for loopback, where the emulator listens)
    env = offline_env(HOME=str(home), no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost",
                      **emulator.env())
    steps = []
    for argv in install_lines((ROOT / "README.md").read_text(encoding="utf-8")):
        argv = [artifact.tarball if (argv[:3] == ["ansible-galaxy", "collection", "install"] and arg == FQCN) else arg
                for arg in argv]
        argv = [str(Path(arg).expanduser()).replace(str(Path.home()), str(home)) if arg.startswith("~") else arg
                for arg in argv]
        if "-i" in argv and not (workdir / argv[argv.index("-i") + 1]).exists():
            installed = home / ".ansible" / "collections" / "ansible_collections" / "v7labs" / "azure_storage"
            shutil.copytree(installed / "examples" / "inventory", workdir / argv[argv.index("-i") + 1])
        argv = [str(BIN / argv[0]) if (BIN / argv[0]).exists() else argv[0], *argv[1:]]
        done = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False)
        steps.append({"argv": argv, "rc": done.returncode, "output": done.stdout + done.stderr})
    return {"steps": steps, "writes": [e["path"] for e in emulator.writes()], "home": str(home)}


@pytest.fixture(scope="module")
def pasted(emulator_process, artifact: Artifact, tmp_path_factory) -> dict:
    return once_per_session(tmp_path_factory, "packaging_readme_install",
                            lambda workdir: run_as_a_user(emulator_process, artifact, workdir))


def test_the_section_is_three_commands_install_requirements_run():
    lines = install_lines((ROOT / "README.md").read_text(encoding="utf-8"))
    assert [line[:3] for line in lines] == [["ansible-galaxy", "collection", "install"],
                                            ["python3", "-m", "pip"], ["ansible-playbook", "-i", "my-inventory"]]


def test_the_collection_installs_where_the_pip_line_looks(pasted):
    install, requirements = pasted["steps"][:2]
    assert install["rc"] == 0, install["output"]
    assert requirements["rc"] == 0, requirements["output"]
    assert Path(requirements["argv"][-1]).is_file()
    assert Path(requirements["argv"][-1]).is_relative_to(pasted["home"])


def test_the_playbook_runs_by_name_and_previews_without_writing(pasted):
    playbook = pasted["steps"][2]
    # two example accounts cannot be made ready and fail; the other seven preview their changes
    assert playbook["rc"] == 2, playbook["output"][-3000:]
    recap = dict(re.findall(r"^(\w+)\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=(\d)", playbook["output"], re.M))
    assert {host for host, failed in recap.items() if failed == "0"} == READY, playbook["output"][-2500:]
    assert pasted["writes"] == []
