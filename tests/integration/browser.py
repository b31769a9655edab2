"""A real browser on https://darwin.v7labs.com: Debian's headless Chromium, driven by Selenium.

Both names a page needs resolve to loopback through Chromium's own `--host-resolver-rules`:
darwin.v7labs.com to a small HTTPS server of this module (its certificate from a CA made here,
standing in for V7's public one) and the account's Blob endpoint, <account>.blob.core.windows.net,
to the emulator, whose certificate carries *.blob.core.windows.net (tests/emulator/tls.py). Both
CAs go into an NSS database in the browser's own HOME, the way a Linux machine trusts a CA for
Chromium; certificate checks stay on. So the browser sees exactly what an annotator's browser
sees: the page's origin https://darwin.v7labs.com, the account's real host name, the CORS
preflight and the real response.

Chromium, its driver and certutil come from Debian (`chromium`, `chromium-driver`,
`libnss3-tools`); when one is missing they are installed with apt-get where that is possible (as
root), as tests/packaging/ee/build.sh installs podman; otherwise the test fails and says how.
"""
from __future__ import annotations

import http.server
import os
import shutil
import ssl
import subprocess
import tempfile
import threading

import pytest
import trustme
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

V7_HOST = "darwin.v7labs.com"
PACKAGES = ("chromium", "chromium-driver", "libnss3-tools")
TOOLS = {"chromium": "chromium", "chromedriver": "chromium-driver", "certutil": "libnss3-tools"}

# The page V7's app would be: it fetches a signed URL and uploads with one, as a browser does
# (fetch; the upload names the blob type, so the browser sends a CORS preflight first).
PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>V7 annotator</title></head><body>
<script>
async function attempt(url, init) {
  try {
    const reply = await fetch(url, init);
    return {status: reply.status, body: await reply.text()};
  } catch (error) {
    return {error: error.name + ": " + error.message};
  }
}
function load(url) { return attempt(url, {method: "GET"}); }
function upload(url, text) {
  return attempt(url, {method: "PUT", body: text,
                       headers: {"x-ms-blob-type": "BlockBlob", "Content-Type": "text/plain"}});
}
</script></body></html>
"""


def ensure_chromium() -> None:
    """Chromium, chromedriver and certutil on PATH: installed from Debian when missing and
    possible; otherwise the test fails with what to install (it never skips)."""
    missing = sorted({TOOLS[tool] for tool in TOOLS if shutil.which(tool) is None})
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *PACKAGES], check=False, env=env, capture_output=True)
        missing = sorted({TOOLS[tool] for tool in TOOLS if shutil.which(tool) is None})
    if missing:
        pytest.fail("the browser tests need Debian's " + ", ".join(missing)
                    + f": install them with `apt-get install {' '.join(PACKAGES)}` (as root)", pytrace=False)


class PageServer:
    """https://darwin.v7labs.com/ on a loopback port, with a certificate for that name."""

    def __init__(self, ca: trustme.CA):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(V7_HOST).configure_cert(context)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Browser:
    """Headless Chromium on the page, trusting the emulator's CA and the page's."""

    def __init__(self, emulator, blob_hosts: list[str]):
        ensure_chromium()
        self.home = tempfile.mkdtemp(prefix="v7-browser-")
        page_ca = trustme.CA(organization_name="stand-in for V7's public CA")
        self.page = PageServer(page_ca)
        page_ca_file = os.path.join(self.home, "page-ca.pem")
        page_ca.cert_pem.write_to_path(page_ca_file)
        nssdb = os.path.join(self.home, ".pki", "nssdb")
        os.makedirs(nssdb)
        subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True, capture_output=True)
        for name, path in (("azure-emulator", emulator.ca_bundle), ("v7-page", page_ca_file)):
            subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-t", "C,,", "-n", name, "-i", path],
                           check=True, capture_output=True)
        emulator_port = int(emulator.url.rstrip("/").rsplit(":", 1)[1])
        rules = [f"MAP {V7_HOST} 127.0.0.1:{self.page.port}"]
        rules += [f"MAP {host} 127.0.0.1:{emulator_port}" for host in blob_hosts]
        options = webdriver.ChromeOptions()
        binary = "/usr/lib/chromium/chromium"
        options.binary_location = binary if os.path.exists(binary) else shutil.which("chromium")
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--user-data-dir={os.path.join(self.home, 'profile')}",
                     "--host-resolver-rules=" + ", ".join(rules), "--no-first-run",
                     "--disable-background-networking", "--disable-component-update"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        env = {"HOME": self.home, "PATH": os.environ.get("PATH", "")}
        service = Service(executable_path=shutil.which("chromedriver"), env=env)
        self.driver = webdriver.Chrome(options=options, service=service)
        self.driver.set_script_timeout(30)
        self.driver.get(f"https://{V7_HOST}/")
        assert self.driver.title == "V7 annotator"

    def load(self, url: str) -> dict:
        return self.driver.execute_async_script("load(arguments[0]).then(arguments[arguments.length - 1]);", url)

    def upload(self, url: str, text: str) -> dict:
        return self.driver.execute_async_script(
            "upload(arguments[0], arguments[1]).then(arguments[arguments.length - 1]);", url, text)

    def console(self) -> list[str]:
        """The console messages since the last call (Chromium reports CORS refusals there)."""
        return [entry["message"] for entry in self.driver.get_log("browser")]

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            self.page.stop()
            shutil.rmtree(self.home, ignore_errors=True)
