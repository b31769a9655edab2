"""What the packaging tests share: the collection as users get it, built with
`ansible-galaxy collection build` and installed from that tarball into an empty collections path,
once per test session even when pytest-xdist spreads the tests over workers."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from tests.session_cache import once_per_session
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))
NAMESPACE, NAME, VERSION = GALAXY["namespace"], GALAXY["name"], str(GALAXY["version"])
FQCN = f"{NAMESPACE}.{NAME}"
TARBALL = f"{NAMESPACE}-{NAME}-{VERSION}.tar.gz"

# Any attempt to reach the network through a proxy-aware client fails at once instead of hanging:
# building, installing and introspecting the collection must need nothing from outside.
OFFLINE = {proxy: "http://127.0.0.1:9" for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}


def tool_env(**extra: str) -> dict[str, str]:
    """A clean environment for the venv's tools: nothing of the caller's Ansible settings."""
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "ANSIBLE_NOCOLOR": "1",
        **extra,
    }


def offline_env(**extra: str) -> dict[str, str]:
    return tool_env(**OFFLINE, **extra)


def run(cmd: list[str], *, cwd: Path | str, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def checked(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = run(cmd, **kwargs)
    assert done.returncode == 0, f"{' '.join(cmd)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@dataclass(frozen=True)
class Artifact:
    tarball: str            # what `ansible-galaxy collection build` wrote
    collections_path: str   # the empty collections path `ansible-galaxy collection install` filled

    @property
    def installed(self) -> Path:
        return Path(self.collections_path, "ansible_collections", NAMESPACE, NAME)


def build_and_install(workdir: Path) -> dict:
    dist, collections = workdir / "dist", workdir / "collections"
    checked([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(dist)],
            cwd=ROOT, env=offline_env())
    tarball = dist / TARBALL
    checked([str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(collections)],
            cwd=workdir, env=offline_env(ANSIBLE_COLLECTIONS_PATH=str(collections)))
    return asdict(Artifact(str(tarball), str(collections)))


@pytest.fixture(scope="session")
def artifact(tmp_path_factory) -> Artifact:
    return Artifact(**once_per_session(tmp_path_factory, "packaging_artifact", build_and_install))
