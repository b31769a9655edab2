"""A CA and a server certificate, made fresh at every start: for 127.0.0.1/localhost, and for
`*.blob.core.windows.net`, the name Azure's own Blob certificate carries, so a client that maps an
account's Blob endpoint to loopback (a browser with a host-resolver rule) checks it by its real name."""
from __future__ import annotations

import os
import ssl

import trustme


def make_server_context(directory: str) -> tuple[ssl.SSLContext, str]:
    """Return the server's SSL context and the path of the CA bundle clients must trust."""
    ca = trustme.CA(organization_name="v7labs azure_storage emulator")
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1", "*.blob.core.windows.net")
    ca_path = os.path.join(directory, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context, ca_path
