"""Reply builders with the envelopes, content types and headers that ARM, Graph and Entra use."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web

ARM_JSON = "application/json; charset=utf-8"
STORAGE_JSON = "application/json"
GRAPH_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
BLOB_SERVER = "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0"
STORAGE_SERVER = "Microsoft-Azure-Storage-Resource-Provider/1.0,Microsoft-HTTPAPI/2.0 Microsoft-HTTPAPI/2.0"


def now_iso(precise: bool = True) -> str:
    stamp = datetime.now(timezone.utc)
    if precise:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _dump(body) -> bytes:
    # bytes, not text: aiohttp would append a charset to the exact content types the services use
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def arm(body, status: int = 200, *, storage: bool = False, headers: dict | None = None) -> web.Response:
    hdrs = {
        "Cache-Control": "no-cache",
        "Pragma": "no-cache",
        "Expires": "-1",
        "x-ms-request-id": str(uuid.uuid4()),
        "x-ms-correlation-request-id": str(uuid.uuid4()),
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
    }
    if storage:
        hdrs["Server"] = STORAGE_SERVER
    hdrs.update(headers or {})
    if body is None:
        return web.Response(status=status, headers=hdrs)
    return web.Response(status=status, body=_dump(body), headers={**hdrs, "Content-Type": STORAGE_JSON if storage else ARM_JSON})


def arm_error(status: int, code: str, message: str, *, storage: bool = False, headers: dict | None = None) -> web.Response:
    return arm({"error": {"code": code, "message": message}}, status, storage=storage, headers=headers)


def graph(body, status: int = 200, headers: dict | None = None) -> web.Response:
    hdrs = {
        "Cache-Control": "no-cache",
        "request-id": str(uuid.uuid4()),
        "Strict-Transport-Security": "max-age=31536000",
        "x-ms-resource-unit": "1",
    }
    hdrs.update(headers or {})
    if body is None:
        return web.Response(status=status, headers=hdrs)
    hdrs["OData-Version"] = "4.0"
    return web.Response(status=status, body=_dump(body), headers={**hdrs, "Content-Type": GRAPH_JSON})


def graph_error(request: web.Request, status: int, code: str, message: str, headers: dict | None = None) -> web.Response:
    request_id = str(uuid.uuid4())
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": request.headers.get("client-request-id", request_id),
            },
        }
    }
    hdrs = {"Cache-Control": "no-cache", "request-id": request_id, "Strict-Transport-Security": "max-age=31536000"}
    hdrs.update(headers or {})
    return web.Response(status=status, body=_dump(body), headers={**hdrs, "Content-Type": "application/json"})


def entra(body, status: int = 200) -> web.Response:
    hdrs = {
        "Cache-Control": "no-store, no-cache",
        "Pragma": "no-cache",
        "Expires": "-1",
        "x-ms-request-id": str(uuid.uuid4()),
        "x-ms-ests-server": "emulator",
    }
    return web.Response(status=status, body=_dump(body), headers={**hdrs, "Content-Type": ARM_JSON})


def entra_error(status: int, error: str, aadsts: int, description: str) -> web.Response:
    trace = str(uuid.uuid4())
    correlation = str(uuid.uuid4())
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    text = f"AADSTS{aadsts}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {stamp}"
    return entra(
        {
            "error": error,
            "error_description": text,
            "error_codes": [aadsts],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": "https://login.microsoftonline.com/error?code=%d" % aadsts,
        },
        status,
    )


def monotonic() -> float:
    return time.monotonic()


# ------------------------------------------------------------------ Blob data plane
def blob_error(request: web.Request, status: int, code: str, message: str, detail: str | None = None,
               details: dict[str, str] | None = None) -> web.Response:
    request_id = str(uuid.uuid4())
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    body = (f"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{escape(message)}\n"
            f"RequestId:{request_id}\nTime:{stamp}</Message>")
    if detail:
        body += f"<AuthenticationErrorDetail>{escape(detail)}</AuthenticationErrorDetail>"
    for name, value in (details or {}).items():
        body += f"<{name}>{escape(value)}</{name}>"
    body += "</Error>"
    headers = {**blob_headers(request, request_id), "x-ms-error-code": code}
    return web.Response(status=status, body=body.encode("utf-8"), headers=headers)


def blob_headers(request: web.Request, request_id: str) -> dict:
    headers = {
        "Content-Type": "application/xml",
        "Server": BLOB_SERVER,
        "x-ms-request-id": request_id,
        "Date": format_datetime(datetime.now(timezone.utc), usegmt=True),
    }
    for name in ("x-ms-version", "x-ms-client-request-id"):
        if name in request.headers:
            headers[name] = request.headers[name]
    return headers
