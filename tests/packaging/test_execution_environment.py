"""examples/execution-environment.yml through `ansible-builder create`, offline: it writes a build
context and needs no container engine. The stages of the build that install the collection
(ansible-galaxy) and gather its requirements (the context's own introspect.py) are then run here
the way the Containerfile runs them, so what the image would get is checked without building it:
exactly requirements.txt for Python and bindep.txt for the OS, from meta/execution-environment.yml."""
from __future__ import annotations

import hashlib
import re
import shutil
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from tests.packaging.conftest import BIN, FQCN, ROOT, TARBALL, Artifact, checked, offline_env

EXAMPLE = ROOT / "examples" / "execution-environment.yml"
DEFINITION = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
FROM_COLLECTION = f"  # from collection {FQCN}"


def entries(path: Path) -> list[str]:
    """The requirement lines of a pip or bindep file: no comments, no blank lines."""
    lines = (re.sub(r"(^|\s)#.*", "", line).strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def context(artifact: Artifact, tmp_path_factory) -> Path:
    """The build context, with the galaxy and builder stages run on it; returns its directory.

    The tree is laid out as the example's comment says: the definition in examples/, the tarball
    `ansible-galaxy collection build` made in build/dist/."""
    work = tmp_path_factory.mktemp("ee")
    (work / "examples").mkdir()
    shutil.copy(EXAMPLE, work / "examples")
    (work / "build" / "dist").mkdir(parents=True)
    shutil.copy(artifact.tarball, work / "build" / "dist")
    checked([str(BIN / "ansible-builder"), "create", "-f", "examples/execution-environment.yml", "-c", "context",
             "--output-filename", "Containerfile"],
            cwd=work, env=offline_env())
    build = work / "context" / "_build"
    # the galaxy stage: `ansible-galaxy collection install -r requirements.yml` from _build
    checked([str(BIN / "ansible-galaxy"), "collection", "install", "-r", "requirements.yml",
             "--collections-path", str(work / "usr-share-ansible" / "collections")],
            cwd=build, env=offline_env(ANSIBLE_COLLECTIONS_PATH=str(work / "usr-share-ansible" / "collections")))
    # the builder stage: introspect.py gathers every installed collection's requirements
    checked([sys.executable, str(build / "scripts" / "introspect.py"), "introspect",
             str(work / "usr-share-ansible" / "collections"),
             f"--write-pip={work / 'gathered' / 'requirements.txt'}",
             f"--write-bindep={work / 'gathered' / 'bindep.txt'}"],
            cwd=work, env=offline_env())
    return work


def gathered(context: Path, name: str) -> list[str]:
    path = context / "gathered" / name
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


@pytest.mark.parametrize("name", ["requirements.txt", "bindep.txt"])
def test_the_image_gets_exactly_the_collections_requirements(context: Path, name: str):
    assert entries(ROOT / name), f"{name} lists nothing"
    assert gathered(context, name) == [entry + FROM_COLLECTION for entry in entries(ROOT / name)]


def test_the_collection_declares_its_requirements_files(artifact: Artifact):
    meta = yaml.safe_load((artifact.installed / "meta" / "execution-environment.yml").read_text(encoding="utf-8"))
    assert meta == {"version": 1, "dependencies": {"python": "requirements.txt", "system": "bindep.txt"}}


def test_the_context_carries_the_built_tarball(context: Path, artifact: Artifact):
    assert sha256(context / "context" / "_build" / "collections" / TARBALL) == sha256(artifact.tarball)


def test_the_example_installs_the_tarball_of_galaxy_yml_version():
    assert DEFINITION["dependencies"]["galaxy"] == {"collections": [{"name": f"collections/{TARBALL}", "type": "file"}]}
    assert [f["src"] for f in DEFINITION["additional_build_files"]] == [f"../build/dist/{TARBALL}"]


def test_the_containerfile_uses_the_examples_image_python_and_ansible_core(context: Path):
    containerfile = (context / "context" / "Containerfile").read_text(encoding="utf-8")
    dependencies = DEFINITION["dependencies"]
    assert f'ARG EE_BASE_IMAGE="{DEFINITION["images"]["base_image"]["name"]}"' in containerfile
    assert f'ARG PYCMD="{dependencies["python_interpreter"]["python_path"]}"' in containerfile
    assert (f'ARG ANSIBLE_INSTALL_REFS="{dependencies["ansible_core"]["package_pip"]} '
            f'{dependencies["ansible_runner"]["package_pip"]}"') in containerfile


def test_the_image_runs_the_ansible_core_these_tests_run():
    pinned = Requirement(DEFINITION["dependencies"]["ansible_core"]["package_pip"])
    assert pinned.name == "ansible-core" and pinned.specifier.contains(version("ansible-core"))
