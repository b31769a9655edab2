"""Reaching an account's Blob endpoint, https://<account>.blob.core.windows.net, in the emulator
with Microsoft's own azure-storage-blob client."""
from __future__ import annotations

from urllib.parse import urlsplit

from azure.core.pipeline.transport import RequestsTransport


class ToTheEmulator(RequestsTransport):
    """Sends https://<account>.blob.core.windows.net/... to the emulator, keeping the Host header
    (the emulator tells the account by it; Shared Key and SAS sign the path, not the host).
    Certificate checks stay on: `connection_verify` is the emulator's CA bundle."""

    def __init__(self, emulator_url: str, **kwargs):
        super().__init__(**kwargs)
        self._base = emulator_url.rstrip("/")

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.headers["Host"] = parts.netloc
        request.url = self._base + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)
