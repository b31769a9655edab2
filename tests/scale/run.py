"""The real ansible-playbook of the collection's playbooks, from the working tree, over a generated
inventory, with an environment built from scratch; and what its PLAY RECAP says."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".venv", "collections")
PLAYBOOKS = os.path.join(ROOT, "playbooks")
CALLBACKS = os.path.join(ROOT, "tests", "integration", "callback_plugins")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

_RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")


@dataclass
class PlaybookRun:
    """What subprocess.CompletedProcess has, plus the wall time and the RECAP per host."""
    args: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    killed: bool = False

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return parse_recap(self.stdout)

    @property
    def failed_hosts(self) -> list[str]:
        return failed_hosts(self.stdout)

    @property
    def changed(self) -> int:
        return sum(counts.get("changed", 0) for counts in self.recap.values())


def parse_recap(stdout: str) -> dict[str, dict[str, int]]:
    """host -> {ok, changed, unreachable, failed, skipped, rescued, ignored} from PLAY RECAP, for
    the storage accounts (the playbooks' inventory check runs on localhost, which is not one)."""
    recap: dict[str, dict[str, int]] = {}
    if "PLAY RECAP" not in stdout:
        return recap
    tail = stdout.rpartition("PLAY RECAP")[2]
    for line in tail.splitlines():
        match = _RECAP_LINE.match(line.strip())
        if match:
            if match["host"] != "localhost":
                recap[match["host"]] = {k: int(v) for k, v in (p.split("=") for p in match["counts"].split())}
    return recap


def failed_hosts(stdout: str) -> list[str]:
    """Hosts the RECAP shows failed or unreachable."""
    return sorted(h for h, c in parse_recap(stdout).items() if c.get("failed", 0) or c.get("unreachable", 0))


def playbook_env(env: dict, workdir: str, result_file: str | None = None) -> dict:
    """Only what ansible-playbook needs, then `env` (the emulator's, see EmulatorProcess.env())."""
    full = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", workdir),
        "LANG": "C.UTF-8",
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "0",
    }
    if result_file:
        full.update({
            "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS,
            "ANSIBLE_CALLBACKS_ENABLED": "result_file",
            "RESULT_FILE": result_file,
        })
    full.update(env)
    return full


def command(inventory: str, *, forks: int, playbook: str = "configure.yml", extra_args=()) -> list[str]:
    path = playbook if os.path.isabs(playbook) else os.path.join(PLAYBOOKS, playbook)
    return [ANSIBLE_PLAYBOOK, "-i", inventory, path, "-f", str(forks), *extra_args]


class Started:
    """An ansible-playbook run in its own process group, so that it can be killed whole."""

    def __init__(self, env: dict, inventory: str, *, forks: int, playbook: str = "configure.yml",
                 extra_args=(), workdir: str | None = None, result_file: str | None = None):
        self.workdir = workdir or tempfile.mkdtemp(prefix="v7-scale-")
        os.makedirs(self.workdir, exist_ok=True)
        self.args = command(inventory, forks=forks, playbook=playbook, extra_args=extra_args)
        self._out = tempfile.TemporaryFile(mode="w+", dir=self.workdir)
        self._err = tempfile.TemporaryFile(mode="w+", dir=self.workdir)
        self.started = time.monotonic()
        self.killed = False
        self.proc = subprocess.Popen(
            self.args, env=playbook_env(env, self.workdir, result_file), cwd=self.workdir,
            stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL, start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL to the whole process group: ansible-playbook, its workers and their modules."""
        if self.proc.poll() is None:
            self.killed = True
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float | None = None) -> PlaybookRun:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = self.proc.wait()
        seconds = time.monotonic() - self.started
        outputs = []
        for stream in (self._out, self._err):
            stream.seek(0)
            outputs.append(stream.read())
            stream.close()
        return PlaybookRun(self.args, rc, outputs[0], outputs[1], seconds, self.killed)


def configure(env: dict, inventory: str, *, forks: int, playbook: str = "configure.yml", extra_args=(),
              timeout: float | None = None, workdir: str | None = None,
              result_file: str | None = None) -> PlaybookRun:
    """Run playbooks/<playbook> to the end (or `timeout` seconds, then kill it)."""
    run = Started(env, inventory, forks=forks, playbook=playbook, extra_args=extra_args,
                  workdir=workdir, result_file=result_file)
    return run.wait(timeout)
