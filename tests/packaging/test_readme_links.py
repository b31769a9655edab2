"""The README for users, and the pages it sends readers to: every relative link leads to a file
of the repository, the README opens with what a reader can do, and what is about developing and
testing the collection lives in CONTRIBUTING.md and docs/, not in the README."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.packaging.conftest import GALAXY, ROOT

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "examples" / "README.md",
         *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file(page: Path):
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if not re.match(r"[a-z]+:", target):
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to {target}, which is missing"


def test_the_readme_goes_what_it_does_then_try_it_then_use_it():
    headings = re.findall(r"^## (.+)$", (ROOT / "README.md").read_text(encoding="utf-8"), re.M)
    assert headings[:2] == ["Try it", "Use it"]
    assert "License" in headings


def test_the_first_commands_a_reader_meets_are_make_demo_and_make_test():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.search(r"^```sh\n(.*?)^```", readme, re.M | re.S).group(1)
    assert [line.split()[:2] for line in first.splitlines()] == [["make", "demo"], ["make", "test"]]


@pytest.mark.parametrize("page", ["docs/emulator.md", "docs/fidelity.md", "docs/benchmark.md", "docs/soak.md",
                                  "docs/reliability.md", "CONTRIBUTING.md", "LICENSE"])
def test_the_readme_links_each_page_that_left_it(page: str):
    assert f"]({page})" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("heading", ["The Azure emulator", "Control API", "Seeding state",
                                     "What `make test` runs", "Fidelity"])
def test_development_material_is_not_in_the_readme(heading: str):
    assert not re.search(rf"^#+ {re.escape(heading)}", (ROOT / "README.md").read_text(encoding="utf-8"), re.M)


def test_the_performance_section_is_a_user_s_summary_of_the_benchmark():
    """What a user wants to know (before / after, with the command that measured it) and no more:
    how the benchmark works stays in docs/benchmark.md."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Performance\n(.*?)(?=^## )", readme, re.M | re.S).group(1)
    assert len(section.strip().splitlines()) <= 25
    assert "python -m tests.bench" in section and "](docs/benchmark.md)" in section


def test_galaxy_yml_points_users_at_the_documentation_and_repository():
    assert GALAXY["repository"].startswith("https://")
    assert GALAXY["homepage"] and GALAXY["documentation"].startswith(GALAXY["repository"])
