"""The built tarball through galaxy-importer with Automation Hub's settings: versions below 1.0.0
refused (require_v1_or_greater), one of Automation Hub's tags required, ansible-doc and ansible-lint
(production profile) run, the changelog checked. ansible-test does not run inside the importer
here (it needs a container image from a registry); `make sanity` runs it.

galaxy-importer lives in its own environment, build/galaxy-importer/venv, made from
tests/packaging/galaxy-importer.txt the first time (from the package index pip is set up with)."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from tests.packaging.conftest import GALAXY, ROOT, VERSION, Artifact, offline_env
from tests.session_cache import once_per_session

REQUIREMENTS = ROOT / "tests" / "packaging" / "galaxy-importer.txt"
VENV = ROOT / "build" / "galaxy-importer" / "venv"
AUTOMATION_HUB = """[galaxy-importer]
LOG_LEVEL_MAIN = INFO
REQUIRE_V1_OR_GREATER = True
CHECK_REQUIRED_TAGS = True
CHECK_CHANGELOG = True
RUN_ANSIBLE_DOC = True
RUN_ANSIBLE_LINT = True
OFFLINE_ANSIBLE_LINT = True
RUN_ANSIBLE_TEST = False
RUN_FLAKE8 = False
"""
# ansible-lint runs while the collection is still unpacked under a placeholder name, so it cannot
# resolve the AWX example's imports of the collection's own playbooks by name; the project's own
# ansible-lint run (tests/sanity/run.sh) lints them with the collection installed.
KNOWN_LINT = re.compile(r"^WARNING: ERROR\s+Failed to find v7labs\.azure_storage\.(configure|verify|offboard) playbook\.$")


def importer_venv() -> Path:
    stamp = VENV / ".requirements-sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text(encoding="utf-8") == wanted):
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
                       check=True, timeout=900)
        stamp.write_text(wanted, encoding="utf-8")
    return VENV


def run_importer(artifact: Artifact, workdir: Path) -> dict:
    venv = importer_venv()
    (workdir / "galaxy-importer.cfg").write_text(AUTOMATION_HUB, encoding="utf-8")
    env = offline_env(PATH=f"{venv / 'bin'}:/usr/bin:/bin", HOME=str(workdir),
                      GALAXY_IMPORTER_CONFIG=str(workdir / "galaxy-importer.cfg"))
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "galaxy_importer.main", artifact.tarball],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=900, check=False)
    result = workdir / "importer_result.json"
    return {"rc": done.returncode, "output": done.stdout + done.stderr,
            "result": json.loads(result.read_text(encoding="utf-8")) if result.exists() else None}


@pytest.fixture(scope="module")
def imported(artifact: Artifact, tmp_path_factory) -> dict:
    return once_per_session(tmp_path_factory, "packaging_galaxy_importer",
                            lambda workdir: run_importer(artifact, workdir))


def test_the_import_succeeds_with_automation_hubs_settings(imported):
    assert imported["rc"] == 0, imported["output"][-3000:]
    assert "Importer processing completed successfully" in imported["output"]
    assert imported["result"]["metadata"]["version"] == VERSION


def test_it_reports_nothing_but_the_known_lint_lines(imported):
    lines = [line for line in imported["output"].splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert [line for line in lines if not KNOWN_LINT.match(line)] == [], imported["output"][-3000:]


def test_galaxy_sees_the_license_the_modules_the_role_and_the_playbooks(imported):
    result = imported["result"]
    assert result["metadata"]["license"] == GALAXY["license"] == ["GPL-3.0-or-later"]
    contents = {(c["content_type"], c["name"]) for c in result["contents"]}
    assert {("module", m) for m in ("v7_service_principal", "v7_storage_roles", "v7_blob_cors",
                                    "v7_storage_account_info", "v7_blob_container")} <= contents
    assert ("role", "storage_integration") in contents
    assert {("playbook", f"{p}.yml") for p in ("configure", "verify", "offboard")} <= contents
    assert result["docs_blob"]["collection_readme"]["html"]


def test_the_awx_project_asks_for_the_version_galaxy_yml_names():
    wanted = yaml.safe_load((ROOT / "examples" / "awx" / "collections" / "requirements.yml").read_text(encoding="utf-8"))
    (entry,) = wanted["collections"]
    assert VERSION in SpecifierSet(entry["version"].replace(" ", ""))
