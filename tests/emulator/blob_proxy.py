"""An HTTPS proxy on loopback that brings the storage accounts' Blob endpoints
(`<account>.blob.core.windows.net`) to the Azure emulator, the way a TLS-inspecting corporate
proxy sits between a controller and Azure. `EmulatorProcess.env()` puts it in HTTPS_PROXY, so the
collection's CORS preflight (sent to the endpoint ARM names, with no special option) and any
other client of the data plane reach the emulator there; the emulator sees them come from
127.0.0.1, and its firewall judges them by that address.

azure.azcollection's azure_rm_storageaccount and azure_rm_storageaccount_info read the Blob
service's properties over the data plane on every run. Here that host does not resolve, and the
Storage SDK retries a failed connection 3 times with backoffs of 15 s and more (about 85 s per
call), which no option or environment variable shortens. With this proxy in HTTPS_PROXY (the
emulator's own host in NO_PROXY) and its CA in the CA bundle, those reads reach the emulator and
cost one round trip, as they do in Azure.

It accepts CONNECT only for Blob endpoints on port 443, ends TLS with a certificate for
*.blob.core.windows.net from its own CA, and passes each HTTP request unchanged (Host and Shared
Key signature included) to the emulator, then the reply back."""
from __future__ import annotations

import http.client
import os
import re
import socket
import ssl
import threading
from urllib.parse import urlsplit

import trustme

BLOB_CONNECT = re.compile(r"^CONNECT (?P<host>[a-z0-9]{3,24}\.blob\.core\.windows\.net):443 HTTP/1\.[01]$", re.IGNORECASE)
MAX_HEAD = 64 * 1024
# hop-by-hop headers, which a proxy does not forward (RFC 9110, 7.6.1)
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


def connect_target(request_line: str) -> str | None:
    """The Blob endpoint host a CONNECT request line asks for, else None (anything else is refused)."""
    match = BLOB_CONNECT.match(request_line.strip())
    return match["host"].lower() if match else None


def parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The start line and the header fields (in order, as sent) of an HTTP/1.1 message head."""
    lines = head.decode("iso-8859-1").split("\r\n")
    fields = []
    for line in lines[1:]:
        if not line:
            continue
        name, _colon, value = line.partition(":")
        fields.append((name.strip(), value.strip()))
    return lines[0], fields


def header(fields: list[tuple[str, str]], name: str) -> str | None:
    for key, value in fields:
        if key.lower() == name:
            return value
    return None


def response_bytes(status: int, reason: str, fields: list[tuple[str, str]], body: bytes, *, close: bool) -> bytes:
    """An HTTP/1.1 reply with the upstream's end-to-end headers and the body, read whole, at its length."""
    kept = [(k, v) for k, v in fields if k.lower() not in HOP_BY_HOP | {"content-length"}]
    kept.append(("Content-Length", str(len(body))))
    if close:
        kept.append(("Connection", "close"))
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept) + "\r\n"
    return head.encode("iso-8859-1") + body


def _read_head(read_byte) -> bytes | None:
    """Bytes up to and including the blank line; None when the peer closed first."""
    data = bytearray()
    while not data.endswith(b"\r\n\r\n"):
        byte = read_byte()
        if not byte:
            return None
        data += byte
        if len(data) > MAX_HEAD:
            raise ValueError("message head too long")
    return bytes(data)


class BlobEndpointProxy:
    """Start with `with BlobEndpointProxy(emulator.url, emulator.ca_bundle, workdir) as proxy:`
    (or `start()`, and `close()` when done);
    `proxy.env()` is what a client's environment needs."""

    def __init__(self, upstream_url: str, upstream_ca: str, directory: str):
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 443)
        self._client_context = ssl.create_default_context(cafile=upstream_ca)
        ca = trustme.CA(organization_name="v7labs bench Blob endpoint proxy")
        self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("*.blob.core.windows.net").configure_cert(self._server_context)
        os.makedirs(directory, exist_ok=True)
        self.ca_bundle = os.path.join(directory, "ca-bundle.pem")
        with open(upstream_ca, "rb") as source, open(self.ca_bundle, "wb") as bundle:
            bundle.write(source.read().rstrip(b"\n") + b"\n" + ca.cert_pem.bytes())
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.tunnels = 0
        self.refused = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="blob-endpoint-proxy", daemon=True)

    def env(self) -> dict[str, str]:
        """HTTPS through the proxy except to the emulator itself, and a CA bundle with both CAs."""
        direct = "127.0.0.1,localhost"
        return {
            "HTTPS_PROXY": self.url,
            "https_proxy": self.url,
            "NO_PROXY": direct,
            "no_proxy": direct,
            "REQUESTS_CA_BUNDLE": self.ca_bundle,
            "SSL_CERT_FILE": self.ca_bundle,
        }

    def start(self) -> "BlobEndpointProxy":
        self._thread.start()
        return self

    def __enter__(self) -> "BlobEndpointProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                conn, _address = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="blob-endpoint-tunnel", daemon=True).start()

    def _count(self, attribute: str) -> None:
        with self._lock:
            setattr(self, attribute, getattr(self, attribute) + 1)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(120)
        try:
            # byte by byte: nothing after the CONNECT head may be consumed before TLS starts
            head = _read_head(lambda: conn.recv(1))
            host = connect_target(parse_head(head)[0]) if head else None
            if host is None:
                self._count("refused")
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            self._count("tunnels")
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with self._server_context.wrap_socket(conn, server_side=True) as tls:
                self._relay(tls)
        except (OSError, ValueError, http.client.HTTPException):
            pass
        finally:
            conn.close()

    def _relay(self, tls: ssl.SSLSocket) -> None:
        stream = tls.makefile("rb")
        upstream = http.client.HTTPSConnection(*self.upstream, context=self._client_context, timeout=120)
        try:
            while True:
                head = _read_head(lambda: stream.read(1))
                if head is None:
                    return
                start, fields = parse_head(head)
                method, target = start.split(" ")[:2]
                if header(fields, "transfer-encoding"):
                    tls.sendall(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                body = stream.read(int(header(fields, "content-length") or 0))
                upstream.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                # the headers as sent (Host and Content-Length included): they are what the
                # Shared Key signature covers
                for name, value in fields:
                    if name.lower() not in HOP_BY_HOP:
                        upstream.putheader(name, value)
                upstream.endheaders(body or None)
                reply = upstream.getresponse()
                data = reply.read()
                close = (header(fields, "connection") or "").lower() == "close"
                tls.sendall(response_bytes(reply.status, reply.reason, reply.getheaders(), data, close=close))
                if close:
                    return
        finally:
            upstream.close()
