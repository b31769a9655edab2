"""Results computed once per test session, even when pytest-xdist spreads the tests that need
them over several workers: the first worker to ask computes and keeps the JSON, the others
read it. Used for expensive playbook runs whose results many tests assert on."""
from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Callable

import pytest


def once_per_session(tmp_path_factory: pytest.TempPathFactory, name: str, compute: Callable[[Path], dict]) -> dict:
    """compute(workdir) once per session under `name`; its JSON-able result for every caller."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, shared by its workers
    cache = root / f"{name}.json"
    with open(root / f"{name}.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cache.exists():
            workdir = root / name
            workdir.mkdir(exist_ok=True)
            cache.write_text(json.dumps(compute(workdir)), encoding="utf-8")
    return json.loads(cache.read_text(encoding="utf-8"))
