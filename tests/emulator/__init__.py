"""The project's Azure emulator: ARM (Microsoft.Resources subscriptions, Microsoft.Storage,
Microsoft.Authorization, cloud metadata), Microsoft Graph (servicePrincipals, applications,
directoryObjects) on its own port, Entra token endpoints, and the Blob service properties of the
data plane, over HTTPS on loopback.

`EmulatorProcess` starts `python -m tests.emulator` and talks to its control API; the pytest
fixture in tests/conftest.py uses it."""
from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import urllib.request

from .blob_proxy import BlobEndpointProxy

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class EmulatorProcess:
    def __init__(self, state_file: str | None = None, port: int = 0, workdir: str | None = None, graph_port: int = 0):
        cmd = [sys.executable, "-m", "tests.emulator", "--port", str(port), "--graph-port", str(graph_port)]
        if state_file:
            cmd += ["--state", state_file]
        if workdir:
            cmd += ["--workdir", workdir]
        self.proc = subprocess.Popen(cmd, cwd=_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the emulator did not start: " + self.proc.stderr.read())
        self.info = json.loads(line)
        self.url: str = self.info["url"]
        self.metadata_url: str = self.info["metadata_url"]
        # the same cloud as a list of clouds (api-version 2019-05-01): azure-cli's ARM_CLOUD_METADATA_URL
        self.cloud_list_url: str = self.info["cloud_list_url"]
        self.ca_bundle: str = self.info["ca_bundle"]
        self.control_url: str = self.info["control_url"]
        # Microsoft Graph's own address (its port's root, ending with "/"), as the cloud metadata's
        # microsoftGraphResourceId says; Graph also answers under /graph/ on `url`
        self.graph_url: str = self.info["graph_url"]
        self._ssl = ssl.create_default_context(cafile=self.ca_bundle)
        # the accounts' Blob endpoints (<account>.blob.core.windows.net), as ARM names them, reach
        # the emulator through this proxy (HTTPS_PROXY in env())
        self.blob_proxy = BlobEndpointProxy(self.url, self.ca_bundle,
                                            tempfile.mkdtemp(prefix="blob-proxy-", dir=workdir)).start()

    # ------------------------------------------------------------ control API
    def _call(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.control_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, context=self._ssl, timeout=30) as reply:
            return json.loads(reply.read() or b"null")

    def state(self) -> dict:
        return self._call("GET", "/state")

    def load_state(self, doc: dict) -> dict:
        """Replace the world (until the next reset, which returns to the seed file)."""
        return self._call("PUT", "/state", doc)

    def reset(self) -> None:
        self._call("POST", "/reset")

    def log(self, since: int = 0, kind: str | None = None, bodies: bool = True) -> list[dict]:
        query = f"?since={since}" + (f"&kind={kind}" if kind else "") + ("" if bodies else "&bodies=0")
        return self._call("GET", "/log" + query)

    def clear_log(self) -> None:
        self._call("DELETE", "/log")

    def faults(self, **settings) -> dict:
        return self._call("PUT", "/faults", settings)

    def writes(self, since: int = 0) -> list[dict]:
        return [e for e in self.log(since) if e["write"]]

    def env(self) -> dict:
        """Environment that points the collection's modules and the Azure SDK at the emulator, and
        the accounts' Blob endpoints there through the proxy (whose CA bundle trusts both)."""
        return {"AZURE_CLOUD_ENVIRONMENT": self.metadata_url, **self.blob_proxy.env()}

    def stop(self) -> None:
        self.blob_proxy.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
