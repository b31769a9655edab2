"""The molecule scenarios (molecule/default: configure; molecule/offboard), run as a user would:
`molecule test -s <scenario>` from the repository root.

Each scenario starts its own Azure emulator in create and stops it in destroy; the test gives it a
free port and its own ephemeral directory, so both scenarios can run at the same time.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys

import pytest

from tests.integration.runner import COLLECTIONS, ROOT

MOLECULE = os.path.join(os.path.dirname(sys.executable), "molecule")
SEQUENCES = {
    "default": ["destroy", "syntax", "create", "converge", "idempotence", "verify", "destroy"],
    "offboard": ["destroy", "syntax", "create", "prepare", "converge", "idempotence", "verify", "destroy"],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_leftover_emulator(ephemeral: str) -> None:
    """If a failed run left the scenario's emulator running, stop that process (by its id)."""
    info = os.path.join(ephemeral, "emulator", "info.json")
    if os.path.exists(info):
        try:
            with open(info, encoding="utf-8") as handle:
                os.kill(json.load(handle)["pid"], signal.SIGTERM)
        except (ValueError, KeyError, ProcessLookupError):
            pass


@pytest.mark.parametrize("scenario", sorted(SEQUENCES))
def test_molecule_scenario(scenario, tmp_path):
    ephemeral = str(tmp_path / "ephemeral")
    env = {
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "NO_COLOR": "1",
        "MOLECULE_EPHEMERAL_DIRECTORY": ephemeral,
        "V7_EMULATOR_PORT": str(free_port()),
    }
    try:
        proc = subprocess.run([MOLECULE, "test", "-s", scenario], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=900, check=False)
    finally:
        stop_leftover_emulator(ephemeral)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    # molecule's closing details: one line per step, such as "default > idempotence: Executed: Successful"
    done = re.findall(rf"^{scenario} (?:>|➜) (\w+): Executed: Successful$", output, re.MULTILINE)
    assert done == SEQUENCES[scenario], output[-6000:]
