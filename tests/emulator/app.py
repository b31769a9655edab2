"""The aiohttp application: request log, faults, and the routes of every emulated service."""
from __future__ import annotations

import asyncio
import copy
import json
import time
from dataclasses import dataclass

from aiohttp import web

from . import arm, entra, graph, responses
from .faults import Faults
from .state import State

CONTROL_PREFIX = "/_emulator"
METADATA_PATH = "/metadata/endpoints"
GRAPH_PREFIX = "/graph/"


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
        self.faults = Faults()
        self.log: list[dict] = []
        self._seq = 0

    # the audiences tokens are issued for and each service accepts
    @property
    def arm_audiences(self) -> list[str]:
        return ["https://management.core.windows.net/", "https://management.azure.com/"]

    @property
    def graph_audience(self) -> str:
        return f"{self.base_url}{GRAPH_PREFIX}"

    def kind_of(self, path: str) -> str:
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
    kind = emu.kind_of(request.path)
    if kind == "control":
        return await handler(request)
    started = time.monotonic()
    if emu.faults.latency:
        await asyncio.sleep(emu.faults.latency)
    request_text = await request.text() if request.body_exists else ""
    fault = emu.faults.decide(kind, request.method, request.path)
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
                "path": request.path,
                "query": request.query_string,
                "status": response.status if response is not None else None,
                "duration_ms": round((time.monotonic() - started) * 1000, 2),
                "caller": caller.object_id if caller else request.get("client_id"),
                "tenant": caller.tenant_id if caller else request.get("tenant_id"),
                "write": request.method in ("PUT", "POST", "PATCH", "DELETE") and kind in ("arm", "graph"),
                "fault": fault,
                # token requests carry secrets and their replies carry tokens: never kept
                "request_body": None if is_token else _json_or_none(request_text),
                "response_body": None
                if is_token or response is None
                else _json_or_none(response.body.decode("utf-8") if isinstance(response.body, bytes) else None),
            }
        )


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
    app.router.add_route("*", "/{tail:.*}", arm.dispatch)
    return app
