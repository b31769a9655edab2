"""make demo: the job against the emulator, run twice to show the second run changes nothing."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import CONTOSO, DEFAULT_STATE, OPERATOR, SUBSCRIPTION
from tests.emulator import EmulatorProcess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run(emulator: EmulatorProcess, label: str) -> int:
    env = {
        **os.environ,
        **emulator.env(),
        "AZURE_CLIENT_ID": OPERATOR["client_id"],
        "AZURE_SECRET": OPERATOR["secret"],
        "AZURE_TENANT": CONTOSO,
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".venv", "collections"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "0",
    }
    print(f"\n===== {label} =====", flush=True)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", os.path.join(HERE, "inventory.yml"), os.path.join(HERE, "site.yml")]
    return subprocess.call(cmd, env=env, cwd=ROOT)


def main() -> int:
    with EmulatorProcess(DEFAULT_STATE) as emulator:
        print(f"Azure emulator at {emulator.url} (CA {emulator.ca_bundle})")
        first = run(emulator, "first run: configures")
        writes_first = len(emulator.writes())
        emulator.clear_log()
        second = run(emulator, "second run: nothing to change")
        writes_second = len(emulator.writes())
        print(f"\nwrites sent to Azure: first run {writes_first}, second run {writes_second}")
        return first or second or (1 if writes_second else 0)


if __name__ == "__main__":
    sys.exit(main())
