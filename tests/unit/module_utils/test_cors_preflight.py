"""The browsers' CORS preflight: which requests are sent, how the Blob service's answers are judged,
and what a controller that cannot reach the endpoint says. `send` talks to a plain HTTP server on
loopback that answers as the test says (the emulator's Blob data plane is tested in tests/integration)."""
from __future__ import annotations

import http.server
import socket
import threading

import pytest

from ansible_collections.v7labs.azure_storage.plugins.module_utils import cors_preflight as cp
from ansible_collections.v7labs.azure_storage.plugins.module_utils.auth import AuthSettings

V7 = "https://darwin.v7labs.com"
IRL = "https://darwin.irl.v7labs.com"
GET, PUT = cp.probes([V7], ["get", "PUT"])


def allow(origin=V7, methods="GET,PUT", headers="content-type,x-ms-blob-type"):
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": headers}


def test_one_preflight_per_origin_and_method_with_the_upload_headers():
    sent = cp.probes([V7, IRL], ["GET", "PUT"])
    assert [(p.origin, p.method) for p in sent] == [(V7, "GET"), (V7, "PUT"), (IRL, "GET"), (IRL, "PUT")]
    assert GET.request_headers() == {"Origin": V7, "Access-Control-Request-Method": "GET"}
    assert PUT.request_headers() == {"Origin": V7, "Access-Control-Request-Method": "PUT",
                                     "Access-Control-Request-Headers": "content-type,x-ms-blob-type"}


ANSWERS = {
    "allowed": (PUT, 200, allow(), None, True),
    "allowed by a star origin": (PUT, 200, allow(origin="*"), None, True),
    "header names in any case": (PUT, 200, allow(headers="Content-Type, X-MS-Blob-Type"), None, True),
    "no rule matches": (PUT, 403, {}, "CorsPreflightFailure", False),
    "another origin echoed": (PUT, 200, allow(origin=IRL), None, False),
    "method not listed": (PUT, 200, allow(methods="GET"), None, False),
    "a header not allowed": (PUT, 200, allow(headers="content-type"), None, False),
    "GET asks for no header": (GET, 200, allow(headers=""), None, True),
}


@pytest.mark.parametrize(("probe", "status", "headers", "code", "allowed"), ANSWERS.values(), ids=ANSWERS.keys())
def test_an_answer_is_judged_as_a_browser_does(probe, status, headers, code, allowed):
    found = cp.answer(probe, status, headers, code)
    assert found["allowed"] is allowed and found["status"] == status and found["error_code"] == code


def test_refused_requests_are_named_and_explained():
    answers = [cp.answer(GET, 200, allow(), None), cp.answer(PUT, 403, {}, "CorsPreflightFailure")]
    result = cp.outcome("https://acct.blob.core.windows.net/", answers)
    assert result["checked"] is True and result["refused"] == [f"PUT from {V7}"]
    message = cp.refused_message("acct", result)
    assert f"PUT from {V7} (403 CorsPreflightFailure)" in message and "GET" not in message


@pytest.mark.parametrize("code", sorted(cp.NETWORK_CODES))
def test_a_network_refusal_checks_nothing(code):
    result = cp.outcome("https://acct.blob.core.windows.net/", [cp.answer(GET, 403, {}, code)])
    assert result["checked"] is False and result["refused"] == [] and code in result["reason"]
    assert "CORS was checked over ARM only" in cp.unreachable_message("acct", result)


# ---------------------------------------------------------------- over HTTP


class _Blob(http.server.BaseHTTPRequestHandler):
    answers: list = []
    seen: list = []

    def do_OPTIONS(self):  # noqa: N802 - http.server's naming
        type(self).seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        status, headers = type(self).answers[min(len(type(self).seen), len(type(self).answers)) - 1]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def blob():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Blob)
    _Blob.answers, _Blob.seen = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", _Blob
    server.shutdown()
    server.server_close()


SETTINGS = AuthSettings(credential_kind="secret", tenant="t", subscription_id="s")


def test_send_asks_without_credentials_and_judges_each_answer(blob):
    endpoint, handler = blob
    handler.answers = [(200, allow()), (403, {"x-ms-error-code": "CorsPreflightFailure"})]
    result = cp.send(SETTINGS, endpoint, cp.probe_path("images"), [GET, PUT])
    assert [path for path, _headers in handler.seen] == ["/images/v7-cors-preflight"] * 2
    first, second = (headers for _path, headers in handler.seen)
    assert "authorization" not in first and first["origin"] == V7 and first["access-control-request-method"] == "GET"
    assert second["access-control-request-headers"] == "content-type,x-ms-blob-type"
    assert result["checked"] is True and result["refused"] == [f"PUT from {V7}"]
    assert result["answers"][1]["error_code"] == "CorsPreflightFailure"


def test_after_a_write_a_refusal_is_asked_again(blob):
    endpoint, handler = blob
    handler.answers = [(403, {"x-ms-error-code": "CorsPreflightFailure"}), (200, allow())]
    waits = []
    result = cp.send(SETTINGS, endpoint, "/", [PUT], after_write=True, sleep=waits.append)
    assert result["checked"] is True and result["refused"] == [] and waits == [2.0] and len(handler.seen) == 2


def test_without_a_write_a_refusal_is_final(blob):
    endpoint, handler = blob
    handler.answers = [(403, {"x-ms-error-code": "CorsPreflightFailure"})]
    result = cp.send(SETTINGS, endpoint, "/", [PUT], sleep=lambda _s: pytest.fail("waited"))
    assert result["refused"] == [f"PUT from {V7}"] and len(handler.seen) == 1


def test_an_endpoint_that_cannot_be_reached_is_said_not_failed():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = cp.send(SETTINGS, f"http://127.0.0.1:{port}/", "/", [GET])
    assert result["checked"] is False and result["refused"] == [] and result["answers"] == []
    assert result["reason"].startswith(f"could not reach http://127.0.0.1:{port}/")
