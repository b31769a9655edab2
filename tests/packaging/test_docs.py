"""`make docs`: the documentation site antsibull-docs and Sphinx build from the modules, their doc
fragments and the role, offline, with Sphinx warnings as errors. Every module and the role get a
page, and each page shows every option (doc fragments included) and return value."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.session_cache import once_per_session
from tests.packaging.conftest import BIN, FQCN, ROOT, checked, tool_env

MODULES = ["v7_service_principal", "v7_storage_roles", "v7_blob_cors", "v7_storage_account_info", "v7_blob_container",
           "v7_account_inputs", "v7_account_verdict", "v7_activation", "v7_darwin_storage_info"]
ROLE = "storage_integration"
ENTRY_POINTS = yaml.safe_load((ROOT / "roles" / ROLE / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))[
    "argument_specs"]


def build_docs(workdir: Path) -> dict:
    site = workdir / "docs"
    done = subprocess.run(["make", "--no-print-directory", "docs", f"DOCS_DIR={site}"], cwd=ROOT, env=tool_env(),
                          capture_output=True, text=True, timeout=600, check=False)
    html = site / "build" / "html"
    pages = {p.name: p.read_text(encoding="utf-8") for p in html.glob("*.html")} if html.is_dir() else {}
    return {"rc": done.returncode, "output": done.stdout + done.stderr, "pages": pages}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    return once_per_session(tmp_path_factory, "packaging_docs", build_docs)


@pytest.fixture(scope="module")
def module_docs() -> dict:
    """What ansible-doc knows of each module, doc fragments merged in."""
    done = checked([str(BIN / "ansible-doc"), "-t", "module", "--json", *(f"{FQCN}.{m}" for m in MODULES)],
                   cwd=ROOT, env=tool_env(ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".venv" / "collections")))
    return {name.rsplit(".", 1)[1]: entry["doc"] | {"return": entry.get("return") or {}}
            for name, entry in json.loads(done.stdout).items()}


def test_make_docs_succeeds_without_a_warning(site):
    assert site["rc"] == 0, site["output"][-4000:]
    assert not re.findall(r".*\b(?:WARNING|ERROR)\b.*", site["output"])


def test_these_are_all_the_modules():
    assert sorted(MODULES) == sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("module", MODULES)
def test_each_module_has_its_page_with_every_option_and_return_value(site, module_docs, module):
    page = site["pages"][f"{module}_module.html"]
    doc = module_docs[module]
    assert f"{FQCN}.{module} module" in page
    assert not [o for o in doc["options"] if f'id="parameter-{o}"' not in page]
    assert not [r for r in doc["return"] if f'id="return-{r}"' not in page]


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
def test_the_role_page_documents_each_entry_point(site, entry_point):
    page = site["pages"][f"{ROLE}_role.html"]
    assert f'Entry point <code class="docutils literal notranslate"><span class="pre">{entry_point}<' in page
    options = ENTRY_POINTS[entry_point].get("options", {})
    assert options and not [o for o in options if f'id="parameter-{entry_point}--{o}"' not in page]


def test_the_index_links_every_module_and_the_role(site):
    index = site["pages"]["index.html"]
    assert not [p for p in [*(f"{m}_module.html" for m in MODULES), f"{ROLE}_role.html"] if f'href="{p}"' not in index]


AZURE_MODULES = ["v7_service_principal", "v7_storage_roles", "v7_blob_cors", "v7_storage_account_info",
                 "v7_blob_container"]
CONTROLLER_MODULES = ["v7_account_inputs", "v7_account_verdict", "v7_activation"]


@pytest.mark.parametrize("module", MODULES)
def test_each_module_says_honestly_where_it_runs_and_what_it_needs(module_docs, module):
    """The attributes doc fragment's variants: what a module talks to, where it runs, and the
    packages it really imports."""
    doc = module_docs[module]
    attributes = doc["attributes"]
    platform = " ".join(attributes["platform"]["details"])
    requirements = " ".join(doc.get("requirements") or [])
    packages = [r.split()[0] for r in doc.get("requirements") or []]
    if module in AZURE_MODULES:
        assert "talks to Azure over HTTPS" in platform and "azure-identity" in requirements
        assert attributes["action_group"]["support"] == "full" and "action" not in attributes
    elif module in CONTROLLER_MODULES:
        assert "on the Ansible controller only" in platform and "no Azure SDK" in platform
        assert attributes["action"]["support"] == "full" and "action_group" not in attributes
        assert not requirements
    else:
        assert module == "v7_darwin_storage_info"
        assert "talks to V7's API" in platform and "Azure SDK" not in platform
        assert packages == ["python", "azure-core", "requests"]
    writes = module in ("v7_service_principal", "v7_storage_roles", "v7_blob_cors", "v7_blob_container", "v7_activation")
    assert attributes["check_mode"]["support"] == "full"
    assert attributes["diff_mode"]["support"] == ("full" if writes else "N/A")
    assert attributes["idempotent"]["support"] == "full"
