"""A small fake of V7 Darwin's REST API (the storage integrations of a team), over HTTPS on
loopback with a CA made at start, as the Azure emulator does (tests/emulator/tls.py).

What it answers, and where that comes from (darwin-py is V7's Python SDK, github.com/v7labs/darwin-py):

- ``GET /api/teams/{team}/storage``: a JSON list, no envelope and no pagination, each entry with the
  fields darwin-py's ``Client.list_external_storage_connections`` reads (darwin/client.py: ``name``,
  ``prefix``, ``readonly``, ``provider``, ``default``, ``bucket``, ``region``) and ``slug``; no tenant
  (darwin-py reads none from the listing).
- ``GET /api/teams/{team}/storage/{slug}``: one integration as V7's API reference "Show External
  Storage endpoint" gives it (provider, name, slug, bucket, prefix, and ``tenant_id`` for azure).
- ``Authorization: ApiKey <key>`` (darwin-py ``Client._get_headers``); a missing or unknown key is
  401 (darwin-py ``_raise_if_known_error``: 401 is ``Unauthorized``), an unknown team 404
  (``NotFound``). A key of another team is 403: darwin-py has no special case for it, and this is
  the fake's choice, to exercise the module's 403 message.
- Faults for the next requests: a status (429 with ``Retry-After``, or 5xx), which darwin-py retries
  (``retry_if_status_code_429_or_5xx``).

`running()` starts ``python -m tests.v7api`` and talks to its control API under ``/_control``.
"""
from __future__ import annotations

import contextlib
import json
import os
import ssl
import subprocess
import sys
import urllib.request
from typing import Iterator

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class V7ApiProcess:
    def __init__(self, workdir: str | None = None):
        cmd = [sys.executable, "-m", "tests.v7api"] + (["--workdir", workdir] if workdir else [])
        self.proc = subprocess.Popen(cmd, cwd=_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fake V7 API did not start: " + self.proc.stderr.read())
        self.info = json.loads(line)
        self.url: str = self.info["url"]
        self.ca_bundle: str = self.info["ca_bundle"]
        self._ssl = ssl.create_default_context(cafile=self.ca_bundle)

    def _call(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + "/_control" + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, context=self._ssl, timeout=30) as reply:
            return json.loads(reply.read() or b"null")

    def load(self, teams: dict) -> None:
        """Replace V7's world: {team slug: {"keys": [api keys], "integrations": [...]}}; the log and
        faults are cleared."""
        self._call("PUT", "/state", teams)

    def log(self) -> list[dict]:
        return self._call("GET", "/log")

    def faults(self, status: int, count: int, retry_after: int = 0) -> None:
        """Answer the next `count` API requests with `status`."""
        self._call("PUT", "/faults", {"status": status, "count": count, "retry_after": retry_after})

    def env(self) -> dict:
        return {"REQUESTS_CA_BUNDLE": self.ca_bundle}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.communicate(timeout=10)  # waits, and closes the pipes
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()


@contextlib.contextmanager
def running(workdir: str | None = None) -> Iterator[V7ApiProcess]:
    fake = V7ApiProcess(workdir)
    try:
        yield fake
    finally:
        fake.stop()
