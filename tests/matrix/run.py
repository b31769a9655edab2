"""The version matrix: the unit tests and an integration slice under the oldest and the newest
ansible-core and Python that the collection claims.

Each entry is a requirements file in this folder whose first line names its Python
(`# python: 3.10`); it gets a virtual environment at .venv-matrix/<entry>, rebuilt whenever its
Python or one of its requirements files changes. pytest then runs from that environment, so the
emulator, ansible-playbook and the modules (whose interpreter is ansible-playbook's Python) all
run on the entry's Python and ansible-core. The slice: tests/unit, v7_service_principal's
integration tests, and tests/integration/test_role.py, whose stories run the role through every
module (check and diff, real runs, idempotence) on the example inventory.

Usage: .venv/bin/python tests/matrix/run.py [--short] [ENTRY ...]   (no argument: every entry)
`--short` (what `make test` runs) leaves out the tests of the role's offboard story.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MATRIX = os.path.join(ROOT, "tests", "matrix")
VENVS = os.path.join(ROOT, ".venv-matrix")
COLLECTIONS = os.path.join(ROOT, ".venv", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "v7labs", "azure_storage")
# Files every entry's requirements file includes: a change to one rebuilds every environment.
SHARED_REQUIREMENTS = [os.path.join(MATRIX, "tests.txt"), os.path.join(ROOT, "requirements.txt")]
SLICE = ["tests/unit", "tests/integration/test_service_principal.py", "tests/integration/test_role.py"]
PYTHON_LINE = re.compile(r"^#\s*python:\s*(\d+\.\d+)\s*$")
# An entry between the two ends may run less: `# slice: PATH ...` on a line of its own.
SLICE_LINE = re.compile(r"^#\s*slice:\s*(.+?)\s*$", re.MULTILINE)
VERSION_PROBE = "import sys; print('.'.join(map(str, sys.version_info[:3])))"
INSTALLED_PROBE = "import sys, ansible.release; print(sys.version.split()[0], ansible.release.__version__)"


@dataclass(frozen=True)
class Entry:
    name: str
    requirements: str
    python: str  # major.minor
    tests: tuple[str, ...] = tuple(SLICE)


@dataclass
class Outcome:
    entry: Entry
    python: str = "?"
    ansible_core: str = "?"
    setup_seconds: float = 0.0
    test_seconds: float = 0.0
    rc: int = 1


# ------------------------------------------------------------------ pure parts
def python_of(text: str) -> str | None:
    """The `# python: X.Y` line of a requirements file, which must come first."""
    lines = text.splitlines()
    found = PYTHON_LINE.match(lines[0]) if lines else None
    return found.group(1) if found else None


def slice_of(text: str) -> tuple[str, ...]:
    """The tests an entry runs: its `# slice:` line, else the whole SLICE."""
    found = SLICE_LINE.search(text)
    return tuple(found.group(1).split()) if found else tuple(SLICE)


def version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def claim_problems(requires_ansible: str, tested: dict[str, str]) -> list[str]:
    """What is wrong with meta/runtime.yml's requires_ansible, given the ansible-core tested per entry:
    every tested release must satisfy it, and its floor must be the oldest release tested."""
    specifiers = SpecifierSet(requires_ansible)
    problems = [f"{name}: ansible-core {version} is outside requires_ansible {requires_ansible!r}"
                for name, version in sorted(tested.items()) if not specifiers.contains(version, prereleases=True)]
    floors = [Version(s.version) for s in specifiers if s.operator in (">=", ">")]
    if not floors:
        return problems + [f"requires_ansible {requires_ansible!r} has no lower bound"]
    oldest = min((Version(v) for v in tested.values()), default=None)
    floor = max(floors)
    if oldest is None or (oldest.major, oldest.minor) != (floor.major, floor.minor):
        problems.append(f"requires_ansible starts at {floor} but the oldest ansible-core tested is {oldest}: "
                        f"add an entry for {floor.major}.{floor.minor} or raise the claim")
    return problems


# ------------------------------------------------------------------ the machine
def every_entry() -> list[Entry]:
    found = []
    for path in sorted(glob.glob(os.path.join(MATRIX, "*.txt"))):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        python = python_of(text)
        if python:
            found.append(Entry(os.path.basename(path)[:-4], path, python, slice_of(text)))
    return sorted(found, key=lambda entry: version_key(entry.python))


def full_version(executable: str) -> str | None:
    try:
        probe = subprocess.run([executable, "-c", VERSION_PROBE], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    return probe.stdout.strip() if probe.returncode == 0 else None


def pyenv_root() -> str:
    if shutil.which("pyenv"):
        found = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False).stdout.strip()
        if found:
            return found
    return os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))


def find_python(version: str) -> str:
    """python<version> on PATH when it runs (a pyenv shim for an inactive version does not), else
    the newest patch release of it that pyenv installed."""
    candidates = [shutil.which(f"python{version}") or ""]
    installed = glob.glob(os.path.join(pyenv_root(), "versions", f"{version}.*", "bin", f"python{version}"))
    candidates += sorted(installed, key=lambda p: version_key(os.path.basename(os.path.dirname(os.path.dirname(p)))),
                         reverse=True)
    for candidate in filter(None, candidates):
        found = full_version(candidate)
        if found and found.startswith(version + "."):
            return candidate
    raise SystemExit(f"Python {version} not found: put python{version} on PATH or install it with pyenv "
                     f"(pyenv install {version})")


def fingerprint(entry: Entry, python: str) -> str:
    digest = hashlib.sha256(f"{python} {full_version(python)}\n".encode())
    for path in [entry.requirements, *SHARED_REQUIREMENTS]:
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()


def ensure_venv(entry: Entry) -> str:
    venv = os.path.join(VENVS, entry.name)
    stamp = os.path.join(venv, ".installed")
    python = find_python(entry.python)
    want = fingerprint(entry, python)
    if os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as handle:
            if handle.read() == want:
                return venv
    print(f"[{entry.name}] creating {os.path.relpath(venv, ROOT)} with {python}", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    pip = [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([python, "-m", "venv", venv], check=True)
    subprocess.run(pip + ["--upgrade", "pip"], check=True)
    subprocess.run(pip + ["-r", entry.requirements], check=True)
    with open(stamp, "w", encoding="utf-8") as handle:
        handle.write(want)
    return venv


# The short form `make test` runs: the role's configure story without its offboard story.
SHORT = ["-m", "not offboard_story"]


def run_entry(entry: Entry, short: bool = False) -> Outcome:
    outcome = Outcome(entry)
    start = time.monotonic()
    venv = ensure_venv(entry)
    python = os.path.join(venv, "bin", "python")
    outcome.python, outcome.ansible_core = subprocess.run(
        [python, "-c", INSTALLED_PROBE], capture_output=True, text=True, check=True).stdout.split()
    outcome.setup_seconds = time.monotonic() - start
    print(f"[{entry.name}] Python {outcome.python}, ansible-core {outcome.ansible_core}: {' '.join(entry.tests)}", flush=True)
    env = {**os.environ, "PATH": os.path.join(venv, "bin") + os.pathsep + os.environ.get("PATH", ""),
           "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS, "VIRTUAL_ENV": venv}
    start = time.monotonic()
    outcome.rc = subprocess.run([python, "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile", "-p", "no:cacheprovider",
                                 *(SHORT if short else []), *entry.tests],
                                cwd=ROOT, env=env, check=False).returncode
    outcome.test_seconds = time.monotonic() - start
    return outcome


def main() -> int:
    known = {e.name: e for e in every_entry()}
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("entries", nargs="*", metavar="ENTRY", help="one of: " + ", ".join(known))
    parser.add_argument("--short", action="store_true", help="leave out the role's offboard story (make test)")
    args = parser.parse_args()
    names = args.entries
    unknown = sorted(set(names) - set(known))
    if unknown:
        parser.error(f"unknown entries {unknown}; known: {sorted(known)}")
    chosen = [known[name] for name in names] or list(known.values())
    if not os.path.exists(LINK):
        raise SystemExit(f"{os.path.relpath(LINK, ROOT)} is missing: run `make venv` first")

    outcomes = [run_entry(entry, args.short) for entry in chosen]
    with open(os.path.join(ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        requires = yaml.safe_load(handle)["requires_ansible"]
    problems = claim_problems(requires, {o.entry.name: o.ansible_core for o in outcomes}) if len(chosen) == len(known) else []

    print(f"\nversion matrix (requires_ansible {requires!r}):")
    for o in outcomes:
        verdict = "passed" if o.rc == 0 else f"FAILED (pytest exit {o.rc})"
        print(f"  {o.entry.name:8} Python {o.python:8} ansible-core {o.ansible_core:9} "
              f"setup {o.setup_seconds:5.0f}s  tests {o.test_seconds:5.0f}s  {verdict}")
    for problem in problems:
        print(f"  claim: {problem}")
    return 0 if all(o.rc == 0 for o in outcomes) and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
