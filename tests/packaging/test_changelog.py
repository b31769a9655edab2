"""The changelog antsibull-changelog keeps (changelogs/config.yaml, fragments, changelogs/changelog.yaml)
and the file it generates from it: the release galaxy.yml names is the latest, the fragments lint
clean, and the generated changelog in the tree is what `antsibull-changelog generate` writes."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from tests.packaging.conftest import BIN, ROOT, VERSION, checked, offline_env

CONFIG = yaml.safe_load((ROOT / "changelogs" / "config.yaml").read_text(encoding="utf-8"))


def changelog_files() -> list[str]:
    """The files `antsibull-changelog release` writes, relative to the collection's root."""
    base = os.path.splitext(os.path.normpath(os.path.join("changelogs", CONFIG["changelog_filename_template"])))[0]
    return [f"{base}.{fmt}" for fmt in CONFIG["output_formats"]]


def releases() -> dict:
    return yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text(encoding="utf-8"))["releases"] or {}


def test_galaxy_yml_names_the_latest_release():
    assert releases(), "changelogs/changelog.yaml has no release: run antsibull-changelog release"
    assert str(max(releases(), key=Version)) == VERSION


def test_the_latest_release_has_a_date_and_a_summary():
    latest = releases()[VERSION]
    assert latest["release_date"] and latest["changes"]["release_summary"]


def test_changelog_lint_finds_nothing():
    done = checked([str(BIN / "antsibull-changelog"), "lint"], cwd=ROOT, env=offline_env())
    assert (done.stdout + done.stderr).strip() == ""


@pytest.mark.parametrize("name", changelog_files())
def test_the_generated_changelog_in_the_tree_is_up_to_date(tmp_path: Path, name: str):
    copy = tmp_path / "collection"
    shutil.copytree(ROOT / "changelogs", copy / "changelogs")
    shutil.copy(ROOT / "galaxy.yml", copy)
    checked([str(BIN / "antsibull-changelog"), "generate"], cwd=copy, env=offline_env())
    assert (ROOT / name).read_text(encoding="utf-8") == (copy / name).read_text(encoding="utf-8"), (
        f"{name} differs from what antsibull-changelog generates: run antsibull-changelog generate")


def _released_names() -> set[tuple[str, str]]:
    """(kind, name) of every module and plugin a release of changelog.yaml names as new."""
    names = set()
    for release in releases().values():
        names |= {("module", m["name"]) for m in release.get("modules") or []}
        for kind, plugins in (release.get("plugins") or {}).items():
            names |= {(kind, p["name"]) for p in plugins}
        for kind, objects in (release.get("objects") or {}).items():
            names |= {(kind, o["name"]) for o in objects}
    return names


def _shipped() -> set[tuple[str, str]]:
    shipped = {("module", p.stem) for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__"}
    shipped |= {("inventory", p.stem) for p in (ROOT / "plugins" / "inventory").glob("*.py") if p.stem != "__init__"}
    shipped |= {("filter", p.stem) for p in (ROOT / "plugins" / "filter").glob("*.yml")}
    return shipped


def test_every_module_and_plugin_is_in_a_release():
    """A tarball named after the latest release holds nothing that release does not list."""
    assert _shipped() - _released_names() == set()
