"""Runs real ansible-playbook against the emulator and returns what the user would see."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".venv", "collections")
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    results: list[dict] = field(default_factory=list)
    log_file: str | None = None

    def task(self, name: str, host: str | None = None) -> dict:
        found = [r for r in self.results if r["task"] == name and (host is None or r["host"] == host)]
        assert found, f"no result for task {name!r}; tasks: {[r['task'] for r in self.results]}\n{self.stdout}\n{self.stderr}"
        return found[-1]["result"]

    def statuses(self, name: str) -> dict[str, str]:
        return {r["host"]: r["status"] for r in self.results if r["task"] == name}

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def auth_env(emulator, identity: dict, tenant: str, subscription: str | None = None) -> dict:
    """What AWX's "Microsoft Azure Resource Manager" credential injects, pointed at the emulator."""
    env = {
        **emulator.env(),
        "AZURE_CLIENT_ID": identity["client_id"],
        "AZURE_SECRET": identity["secret"],
        "AZURE_TENANT": tenant,
    }
    if subscription:
        env["AZURE_SUBSCRIPTION_ID"] = subscription
    return env


def run_playbook(
    plays,
    *,
    env: dict,
    check: bool = False,
    diff: bool = False,
    verbosity: int = 0,
    forks: int = 5,
    inventory: str | None = None,
    extra_vars: dict | None = None,
    timeout: int = 600,
    args: list[str] | None = None,
) -> Run:
    """`plays` is a list of plays (YAML-able) or the path of a playbook."""
    workdir = tempfile.mkdtemp(prefix="v7-it-")
    if isinstance(plays, str):
        playbook = plays
    else:
        playbook = os.path.join(workdir, "playbook.yml")
        with open(playbook, "w", encoding="utf-8") as handle:
            yaml.safe_dump(plays, handle, sort_keys=False)
    result_file = os.path.join(workdir, "results.json")
    log_file = os.path.join(workdir, "ansible.log")
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", workdir),
        "LANG": "C.UTF-8",
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS,
        "ANSIBLE_CALLBACKS_ENABLED": "result_file",
        "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOG_PATH": log_file,
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "RESULT_FILE": result_file,
        **env,
    }
    cmd = [ANSIBLE_PLAYBOOK, playbook, "-f", str(forks)]
    cmd += ["-i", inventory] if inventory else ["-i", "localhost,", "-c", "local"]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    cmd += list(args or [])
    proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=timeout, cwd=workdir, check=False)
    results = []
    if os.path.exists(result_file):
        with open(result_file, encoding="utf-8") as handle:
            results = json.load(handle)
    return Run(proc.returncode, proc.stdout, proc.stderr, results, log_file)


def play(*tasks, hosts: str = "localhost", **extra) -> list[dict]:
    return [{"hosts": hosts, "gather_facts": False, **extra, "tasks": list(tasks)}]
