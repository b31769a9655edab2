"""make demo: the main job, playbooks/configure.yml over the example inventory
(examples/inventory: two tenants, nine storage accounts in different states), against the
Azure emulator seeded with the same world; then the same run again, to show it changes nothing.

Everything it writes (the activation details, each run's results) goes to build/demo/, which the
next `make demo` replaces."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
import time

from tests.emulator import EmulatorProcess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATE = os.path.join(ROOT, "tests", "emulator", "states", "example.yml")
INVENTORY = os.path.join(ROOT, "examples", "inventory")
PLAYBOOK = os.path.join(ROOT, "playbooks", "configure.yml")
CALLBACKS = os.path.join(ROOT, "tests", "integration", "callback_plugins")
OUT = os.path.join(ROOT, "build", "demo")
WIDTH = 100


def shown(cmd: list[str]) -> str:
    """The command as one could paste it from the repository's root: whole, paths relative."""
    words = [os.path.relpath(word, ROOT) if os.path.isabs(word) and word.startswith(ROOT) else word for word in cmd]
    words[0] = os.path.basename(words[0])
    return shlex.join(words)


def configure(emulator: EmulatorProcess, workdir: str, label: str) -> tuple[int, list[dict]]:
    results = os.path.join(workdir, f"{label}.json")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", workdir),
        "LANG": "C.UTF-8",
        **emulator.env(),  # AZURE_CLOUD_ENVIRONMENT and the CA bundle; each tenant signs in from the inventory
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".venv", "collections"),
        "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS,
        "ANSIBLE_CALLBACKS_ENABLED": "result_file",
        "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "0",
        "ANSIBLE_NOCOLOR": "1",
        "RESULT_FILE": results,
    }
    cmd = [
        os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
        "-i", INVENTORY, PLAYBOOK, "-f", "10",
        "-e", json.dumps({"v7_activation_dir": os.path.join(workdir, "activation")}),
    ]
    print(f"\n===== {label}: {shown(cmd)} =====", flush=True)
    rc = subprocess.call(cmd, env=env, cwd=ROOT)
    with open(results, encoding="utf-8") as handle:
        return rc, json.load(handle)


ACTIVATION_TASK = "Write the activation details of each V7 team"


def summary(results: list[dict]) -> dict[str, str]:
    """Per account: its state as the role's last step recorded it in the activation details (ready,
    BLOCKED or NOT READY, with why, whole); an account the run stopped before, the first line of the
    message that stopped it. The inventory check on localhost is not an account."""
    lines: dict[str, str] = {}
    for entry in results:
        if entry.get("task", "").endswith(ACTIVATION_TASK) and entry["status"] != "skipped":
            for account, found in (entry["result"].get("accounts") or {}).items():
                why = " ".join(found.get("why") or [])
                lines[account] = {"ready": "ready", "blocked": f"BLOCKED: {why}"}.get(found["state"], f"NOT READY: {why}")
    for entry in results:
        host, result = entry["host"], entry["result"]
        if entry["status"] == "failed" and host not in lines:
            lines[host] = "NOT READY: " + str(result.get("msg", "failed")).split("\n", maxsplit=1)[0].strip()
    for entry in results:
        if entry["host"] != "localhost":
            lines.setdefault(entry["host"], "ready")
    return dict(sorted(lines.items()))


def summary_lines(summary_: dict[str, str], width: int = WIDTH) -> list[str]:
    """The summary for a terminal: the account name, then its line wrapped at word boundaries and
    indented under itself, so no reason is cut."""
    indent = " " * 24
    out = []
    for host, line in summary_.items():
        out.extend(textwrap.wrap(line, width=width, initial_indent=f"  {host:20}  ", subsequent_indent=indent,
                                 break_long_words=False, break_on_hyphens=False))
    return out


def main() -> int:
    started, cpu_started = time.monotonic(), os.times()
    workdir = OUT
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    with EmulatorProcess(STATE) as emulator:
        print(f"Azure emulator at {emulator.url}; the world of examples/inventory seeded from {STATE}")
        first_rc, first = configure(emulator, workdir, "first run")
        writes_first = len([e for e in emulator.writes() if e["status"] and e["status"] < 400])
        emulator.clear_log()
        second_rc, second = configure(emulator, workdir, "second run")
        writes_second = len([e for e in emulator.writes() if e["status"] and e["status"] < 400])
    print("\n===== summary per storage account =====")
    for line in summary_lines(summary(first)):
        print(line)
    activation = os.path.join(workdir, "activation")
    print(f"\nActivation details for V7 (one Markdown and one JSON file per team): {os.path.relpath(activation, ROOT)}/")
    for name in sorted(os.listdir(activation)) if os.path.isdir(activation) else []:
        print(f"  {os.path.relpath(os.path.join(activation, name), ROOT)}")
    changed_second = sorted({e["host"] for e in second if e["result"].get("changed")})
    print(f"\nWrites Azure accepted: first run {writes_first}, second run {writes_second}; "
          f"accounts changed by the second run: {changed_second or 'none'}")
    not_ready = {h for h, line in summary(first).items() if line.startswith("NOT READY")}
    blocked = {h for h, line in summary(first).items() if line.startswith("BLOCKED")}
    # ansible-playbook exits 2 when some hosts failed: expected here for the accounts that cannot be
    # made ready; anything else, or a second run that changes something, is a failure of the demo
    ok = first_rc in (0, 2) and second_rc in (0, 2) and writes_second == 0 and not changed_second
    ended = os.times()
    cpu = sum(getattr(ended, f) - getattr(cpu_started, f) for f in ("user", "system", "children_user", "children_system"))
    print(f"\nEverything the demo wrote is in {os.path.relpath(workdir, ROOT)}/ (the next make demo replaces it). "
          f"It took {time.monotonic() - started:.0f} s and {cpu:.0f} CPU seconds.")
    print("demo: OK" if ok else "demo: FAILED", f"({len(not_ready)} accounts cannot be made ready and {len(blocked)} "
                                                f"is configured but blocked by its firewall, as expected)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
