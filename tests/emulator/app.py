"""The aiohttp application: request log, faults, and the routes of every emulated service."""
from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import ipaddress
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from aiohttp import web

from . import arm, blob_data, blob_service, entra, graph, responses
from .faults import Faults
from .state import State
from .storage import _account_key as account_key

CONTROL_PREFIX = "/_emulator"
METADATA_PATH = "/metadata/endpoints"
GRAPH_PREFIX = "/graph/"
# the accounts' Blob endpoints (storage.py, and the cloud metadata's storage suffix); a client
# reaches them here only through a proxy that forwards them to the emulator (tests/bench does)
BLOB_HOST = re.compile(r"^(?P<account>[a-z0-9]{3,24})\.blob\.core\.windows\.net(?::443)?$")


@dataclass
class Caller:
    tenant_id: str
    object_id: str
    app_id: str
    audience: str


class Emulator:
    def __init__(self, state_doc: dict, base_url: str = ""):
        self.initial_doc = copy.deepcopy(state_doc)
        self.state = State(state_doc)
        self.base_url = base_url.rstrip("/")
        # Graph's own address (https://127.0.0.1:<graph port>), set when that port is served
        self.graph_base_url = ""
        self.faults = Faults()
        self.log: list[dict] = []
        self._seq = 0

    # the audiences tokens are issued for and each service accepts
    @property
    def arm_audiences(self) -> list[str]:
        # In public Azure the resource manager URL (https://management.azure.com/) is itself an ARM
        # audience, so clients that derive the scope from it (`<resource manager>/.default`, as
        # azure.azcollection does) get a token ARM accepts; the emulator's resource manager URL is
        # its base URL. Entra matches the requested resource with or without the trailing slash.
        audiences = ["https://management.core.windows.net/", "https://management.azure.com/"]
        if self.base_url:
            audiences.append(self.base_url + "/")
        return audiences

    @property
    def graph_audience(self) -> str:
        """Microsoft Graph's own address and token audience, as the cloud metadata's
        microsoftGraphResourceId names it: the root of Graph's own port (like
        https://graph.microsoft.com/), so a client that derives Graph's URL or host from the
        metadata reaches it as it is. Without that port, Graph under /graph/ on ARM's address."""
        if self.graph_base_url:
            return self.graph_base_url + "/"
        return f"{self.base_url}{GRAPH_PREFIX}"

    @property
    def graph_audiences(self) -> list[str]:
        """The audiences Graph accepts: its own address, and /graph/ on ARM's address, which
        still serves Graph for clients given that URL."""
        return list(dict.fromkeys([self.graph_audience, f"{self.base_url}{GRAPH_PREFIX}"]))

    def kind_of(self, path: str, host: str = "", app_kind: str | None = None) -> str:
        if app_kind:
            return app_kind
        if blob_account_of(host):
            return "blob"
        if path.startswith(CONTROL_PREFIX):
            return "control"
        if path.startswith(METADATA_PATH):
            return "metadata"
        if path.startswith(GRAPH_PREFIX):
            return "graph"
        if entra.is_entra_path(path):
            return "entra"
        return "arm"

    def record(self, entry: dict) -> None:
        self._seq += 1
        entry["seq"] = self._seq
        self.log.append(entry)


def _json_or_none(text: str | None):
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _drop(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.abort()
    raise ConnectionResetError("connection dropped by fault injection")


@web.middleware
async def service_middleware(request: web.Request, handler):
    emu: Emulator = request.app["emulator"]
    kind = emu.kind_of(request.path, request.host, request.app.get("kind"))
    if kind == "control":
        return await handler(request)
    # Graph's requests are logged (and drawn for faults) by their /graph/v1.0/... path on either
    # address, so the request log reads the same whichever address a client used
    path = GRAPH_PREFIX.rstrip("/") + request.path if request.app.get("kind") == "graph" else request.path
    started = time.monotonic()
    if emu.faults.latency:
        await asyncio.sleep(emu.faults.latency)
    request_text = await request.text() if request.body_exists else ""
    fault = emu.faults.decide(kind, request.method, path)
    response = None
    try:
        if fault == "drop" and emu.faults.config["drop_phase"] == "before":
            return _drop(request)
        if fault == "429":
            response = _throttled(request, kind, emu)
        elif fault in ("500", "503"):
            response = _server_error(request, kind, int(fault))
        else:
            response = await handler(request)
        if fault == "drop":
            return _drop(request)
        return response
    finally:
        caller = request.get("caller")
        is_token = kind == "entra" and request.path.endswith("/token")
        emu.record(
            {
                "time": time.time(),
                "kind": kind,
                "method": request.method,
                "path": path,
                # a SAS's signature is a credential: never kept
                "query": _SAS_SIGNATURE.sub(r"\1sig=REDACTED", request.query_string),
                "status": response.status if response is not None else None,
                "duration_ms": round((time.monotonic() - started) * 1000, 2),
                "caller": caller.object_id if caller else request.get("client_id"),
                "tenant": caller.tenant_id if caller else request.get("tenant_id"),
                "write": is_write(kind, request.method, path, request.query_string),
                "fault": fault,
                # token requests carry secrets and their replies carry tokens: never kept
                "request_body": None if is_token else _json_or_none(request_text),
                "response_body": None
                if is_token or response is None
                else _json_or_none(response.body.decode("utf-8") if isinstance(response.body, bytes) else None),
            }
        )


# reads that are sent as POST: Graph's directoryObjects/getByIds (azure-cli's `az role assignment
# list` resolves principals with it) changes nothing
_READS_BY_POST = re.compile(r"^/graph/v1\.0/directoryObjects/getByIds/?$", re.IGNORECASE)


# Get User Delegation Key is a POST that changes nothing on the account
_BLOB_READS_BY_POST = re.compile(r"(^|&)comp=userdelegationkey(&|$)", re.IGNORECASE)
_SAS_SIGNATURE = re.compile(r"(^|&)sig=[^&]*")


def is_write(kind: str, method: str, path: str, query: str = "") -> bool:
    """Whether a request can change the world: a PUT, POST, PATCH or DELETE to ARM, Graph or the
    Blob data plane, other than a read sent as POST."""
    if kind not in ("arm", "graph", "blob") or method not in ("PUT", "POST", "PATCH", "DELETE"):
        return False
    if kind == "blob":
        return not (method == "POST" and _BLOB_READS_BY_POST.search(query))
    return not (method == "POST" and _READS_BY_POST.match(path))


def _throttled(request, kind, emu) -> web.Response:
    headers = {"Retry-After": str(emu.faults.config["retry_after"])}
    if kind == "graph":
        return responses.graph_error(request, 429, "TooManyRequests", "Too many requests.", headers=headers)
    if kind == "entra":
        return responses.entra_error(429, "temporarily_unavailable", 50196, "The server is throttling requests.")
    operation = "Read" if request.method == "GET" else "Write"
    return responses.arm_error(
        429,
        "TooManyRequests",
        "The request is being throttled as the limit has been reached for operation type - "
        f"{operation}_ObservationWindow_00:05:00. For more information, refer to - https://aka.ms/srpthrottlinglimits",
        headers=headers,
    )


def _server_error(request, kind, status) -> web.Response:
    if kind == "graph":
        code = "serviceNotAvailable" if status == 503 else "generalException"
        return responses.graph_error(request, status, code, "The service is temporarily unavailable.")
    if kind == "entra":
        return responses.entra_error(status, "temporarily_unavailable", 90033, "A transient error has occurred.")
    code = "ServiceUnavailable" if status == 503 else "InternalServerError"
    return responses.arm_error(status, code, "The server encountered an internal error. Please retry the request.")


# ------------------------------------------------------------------ Blob data plane
# Get and Set Blob Service Properties (GET|PUT /?restype=service&comp=properties): the Get that
# azure.azcollection's azure_rm_storageaccount(_info) make on every run (they read the static
# website settings with a key from listKeys), and the Get + Set of V7's guide's
# `az storage cors add --services b` (blob_service.py has the evidence). Shapes from Microsoft's REST reference and recorded
# replies (azure-sdk-for-js nock recordings, x-ms-version 2019-12-12): XML body, Server
# Windows-Azure-Blob/1.0, errors as <Error><Code/><Message/></Error> plus x-ms-error-code.
BLOB_SERVER = responses.BLOB_SERVER
SHARED_KEY_HEADERS = (
    "content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
    "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range",
)
MAX_CLOCK_SKEW = timedelta(minutes=15)


def blob_account_of(host: str) -> str | None:
    """The storage account a request's Host header names on the Blob endpoint, else None."""
    match = BLOB_HOST.match((host or "").lower())
    return match["account"] if match else None


def shared_key_string_to_sign(method: str, headers: dict[str, str], account: str, path: str,
                              query: list[tuple[str, str]]) -> str:
    """Shared Key's string-to-sign for the Blob service (version 2009-09-19 and later): the verb,
    eleven standard headers (Content-Length empty when 0), the x-ms- headers sorted, then
    /account/path and the query parameters by lowercase name, values decoded and comma-joined."""
    lower = {name.lower(): value for name, value in headers.items()}
    if lower.get("content-length") == "0":
        lower["content-length"] = ""
    parts = [method.upper()] + [lower.get(name, "") for name in SHARED_KEY_HEADERS]
    canonical_headers = "".join(
        f"{name}:{' '.join(value.split())}\n" for name, value in sorted(lower.items()) if name.startswith("x-ms-")
    )
    grouped: dict[str, list[str]] = {}
    for name, value in query:
        grouped.setdefault(name.lower(), []).append(value)
    canonical_query = "".join(f"\n{name}:{','.join(sorted(values))}" for name, values in sorted(grouped.items()))
    return "\n".join(parts) + "\n" + canonical_headers + f"/{account}{path or '/'}" + canonical_query


def shared_key_signature(key: str, string_to_sign: str) -> str:
    digest = hmac.new(base64.b64decode(key), string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


_blob_error = responses.blob_error
_blob_headers = responses.blob_headers


def network_allows(acct: dict, remote: str | None) -> bool:
    """Whether the account's public endpoint lets a caller at `remote` in (its firewall's IP rules;
    virtual network rules and trusted-service bypasses never match a caller on the internet)."""
    if acct["public_network_access"] == "Disabled":
        return False
    acls = acct["network_acls"]
    if acls.get("defaultAction", "Allow") != "Deny":
        return True
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(rule["value"], strict=False)
        for rule in acls.get("ipRules") or []
        if rule.get("action", "Allow") == "Allow"
    )


def _authentication_failed(request: web.Request, detail: str) -> web.Response:
    return _blob_error(
        request, 403, "AuthenticationFailed",
        "Server failed to authenticate the request. Make sure the value of Authorization header is formed "
        "correctly including the signature.",
        detail,
    )


def _check_shared_key(request: web.Request, acct: dict) -> web.Response | None:
    """None when the request carries a valid Shared Key signature by one of the account's keys."""
    scheme, credential = (request.headers.get("Authorization", "").split(" ", 1) + [""])[:2]
    if not scheme:
        return _blob_error(
            request, 401, "NoAuthenticationInformation",
            "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
        )
    if scheme != "SharedKey":
        return _authentication_failed(request, "The emulator's Blob endpoint verifies Shared Key signatures only.")
    if not acct["allow_shared_key_access"]:
        return _blob_error(request, 403, "KeyBasedAuthenticationNotPermitted",
                           "Key based authentication is not permitted on this storage account.")
    name, signature = (credential.split(":", 1) + [""])[:2]
    if name != acct["name"]:
        return _authentication_failed(request, f"Issuer '{name}' does not match the account of the request.")
    stamp = request.headers.get("x-ms-date") or request.headers.get("Date")
    try:
        sent = parsedate_to_datetime(stamp or "")
    except (TypeError, ValueError):
        return _authentication_failed(request, "Request date header not specified.")
    if abs(datetime.now(timezone.utc) - sent) > MAX_CLOCK_SKEW:
        return _authentication_failed(request, f"Request date header too old: '{stamp}'.")
    string_to_sign = shared_key_string_to_sign(
        request.method, dict(request.headers), acct["name"], request.path, list(request.query.items())
    )
    expected = [shared_key_signature(account_key(acct, key), string_to_sign) for key in ("key1", "key2")]
    if not any(hmac.compare_digest(signature, candidate) for candidate in expected):
        shown = string_to_sign.replace("\n", "\\n")
        return _authentication_failed(
            request,
            f"The MAC signature found in the HTTP request '{signature}' is not the same as any computed signature. "
            f"Server used following string to sign: '{shown}'.",
        )
    return None


async def blob_dispatch(request: web.Request) -> web.Response:
    """The Blob endpoint: the account by Host, its firewall, then a preflight or an operation,
    whose reply gets the CORS headers the account's rules give (blob_data.py)."""
    emu: Emulator = request.app["emulator"]
    place = blob_data.locate(emu.state, blob_account_of(request.host) or "")
    if place is None or not place.account["blob"]:
        # in Azure the host name would not resolve
        return _blob_error(request, 404, "ResourceNotFound", "The specified resource does not exist.")
    acct = place.account
    if not network_allows(acct, request.remote):
        return _blob_error(request, 403, "AuthorizationFailure", "This request is not authorized to perform this operation.")
    if request.method == "OPTIONS":
        return blob_data.preflight(request, acct)
    try:
        response = await _blob_operation(request, emu, place)
    except blob_data.Refused as refused:
        response = refused.response
    blob_data.add_cors_headers(request, acct, response)
    return response


def _blob_caller(request: web.Request, emu: Emulator, place: blob_data.Place, container: str = "",
                 blob: str = "") -> blob_data.Caller:
    """Who calls: an Entra token, Shared Key, a user delegation SAS, or nobody (refused)."""
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        return blob_data.bearer_caller(request, place, emu.base_url)
    if authorization:
        denied = _check_shared_key(request, place.account)
        if denied is not None:
            raise blob_data.Refused(denied)
        return blob_data.Caller("key")
    if "sig" in request.query:
        keys = [account_key(place.account, name) for name in ("key1", "key2")]
        return blob_data.sas_caller(request, place, keys, container, blob)
    raise blob_data.anonymous(request)


async def _blob_operation(request: web.Request, emu: Emulator, place: blob_data.Place) -> web.Response:
    acct = place.account
    query = {name.lower(): value for name, value in request.query.items()}
    service = request.path == "/" and query.get("restype") == "service"
    if service and query.get("comp") == "userdelegationkey" and request.method == "POST":
        caller = _blob_caller(request, emu, place)
        return await blob_data.user_delegation_key(request, emu.state, place, caller, account_key(acct, "key1"))
    if service and query.get("comp") == "properties" and request.method in ("GET", "PUT"):
        denied = _check_shared_key(request, acct)
        if denied is not None:
            return denied
        headers = _blob_headers(request, str(uuid.uuid4()))
        if request.method == "PUT":
            try:
                changes = blob_service.parse_set_request(await request.read())
            except blob_service.BlobXmlError as err:
                return _blob_error(request, 400, err.code, err.message, details=err.details)
            blob_service.apply(acct, changes)
            # 202 Accepted with no body (Set Blob Service Properties)
            del headers["Content-Type"]
            return web.Response(status=202, headers={**headers, "Content-Length": "0"})
        return web.Response(status=200, body=blob_service.service_properties_xml(acct).encode("utf-8"), headers=headers)
    container, blob = blob_data.split_path(request.path)
    if blob and not query.get("comp") and request.method in ("GET", "PUT"):
        caller = _blob_caller(request, emu, place, container, blob)
        if request.method == "GET":
            return blob_data.get_blob(request, emu.state, place, caller, container, blob)
        return await blob_data.put_blob(request, emu.state, place, caller, container, blob)
    return _blob_error(request, 501, "NotImplemented",
                       "The emulator's Blob endpoint serves Get and Set Blob Service Properties, Get User Delegation "
                       "Key, Get Blob and Put Blob (BlockBlob), and CORS preflight requests only.")


async def dispatch(request: web.Request) -> web.Response:
    if blob_account_of(request.host):
        return await blob_dispatch(request)
    return await arm.dispatch(request)


# ------------------------------------------------------------------ control API
async def control_state(request: web.Request) -> web.Response:
    emu: Emulator = request.app["emulator"]
    if request.method == "PUT":
        # replaces the world until the next reset, which goes back to the seed the emulator started with
        emu.state.load(await request.json())
    return web.json_response(emu.state.dump())


async def control_reset(request: web.Request) -> web.Response:
    emu: Emulator = request.app["emulator"]
    emu.state.load(emu.initial_doc)
    emu.log.clear()
    emu.faults.configure({})
    return web.json_response({"reset": True})


async def control_log(request: web.Request) -> web.Response:
    emu: Emulator = request.app["emulator"]
    if request.method == "DELETE":
        emu.log.clear()
        return web.json_response({"cleared": True})
    since = int(request.query.get("since", 0))
    entries = [e for e in emu.log if e["seq"] > since]
    if "kind" in request.query:
        entries = [e for e in entries if e["kind"] == request.query["kind"]]
    if request.query.get("bodies") in ("0", "false"):
        entries = [{k: v for k, v in e.items() if not k.endswith("_body")} for e in entries]
    return web.json_response(entries)


async def control_faults(request: web.Request) -> web.Response:
    emu: Emulator = request.app["emulator"]
    if request.method == "PUT":
        doc = await request.json()
        settings = {k: doc.pop(k) for k in list(doc) if k in emu.state.settings}
        try:
            emu.faults.configure(doc)
        except ValueError as err:
            return web.json_response({"error": str(err)}, status=400)
        emu.state.settings.update(settings)
    return web.json_response(
        {**emu.faults.config, **emu.state.settings, "injected": dict(emu.faults.injected)}
    )


async def control_health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def build_app(emulator: Emulator) -> web.Application:
    app = web.Application(middlewares=[service_middleware], client_max_size=4 * 1024 * 1024)
    app["emulator"] = emulator
    app.router.add_route("*", CONTROL_PREFIX + "/state", control_state)
    app.router.add_post(CONTROL_PREFIX + "/reset", control_reset)
    app.router.add_route("*", CONTROL_PREFIX + "/log", control_log)
    app.router.add_route("*", CONTROL_PREFIX + "/faults", control_faults)
    app.router.add_get(CONTROL_PREFIX + "/health", control_health)
    app.router.add_get(METADATA_PATH, arm.metadata_endpoints)
    entra.add_routes(app)
    app.router.add_route("*", GRAPH_PREFIX + "{tail:.*}", graph.dispatch)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


def build_graph_app(emulator: Emulator) -> web.Application:
    """Microsoft Graph alone, at the root of its own port: https://127.0.0.1:<port>/v1.0/..."""
    app = web.Application(middlewares=[service_middleware], client_max_size=4 * 1024 * 1024)
    app["emulator"] = emulator
    app["kind"] = "graph"
    app.router.add_route("*", "/{tail:.*}", graph.dispatch)
    return app
