"""python -m tests.v7api [--port PORT] [--workdir DIR]

Serves the fake V7 API (see tests/v7api/__init__.py) over HTTPS on 127.0.0.1 until SIGTERM. On
start it prints one JSON line: url, ca_bundle, port."""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile

from aiohttp import web

from tests.emulator.tls import make_server_context

# darwin-py's ObjectStore fields (darwin/datatypes.py) and the storage object's slug; the listing
# carries no tenant.
LIST_FIELDS = ("name", "slug", "prefix", "readonly", "provider", "default", "bucket", "region")
# V7's "Show External Storage endpoint": the generic fields, and the provider's own.
SHOW_FIELDS = ("provider", "name", "slug", "bucket", "prefix", "readonly", "default")
PROVIDER_FIELDS = {"aws": ("region",), "azure": ("tenant_id",), "minio": ("base_url",)}


class FakeV7:
    def __init__(self) -> None:
        self.teams: dict = {}
        self.log: list[dict] = []
        self.fault = {"status": 0, "count": 0, "retry_after": 0}

    def team_for(self, request: web.Request, team: str):
        """(team, None) when the key may read the team, else (None, the error answer)."""
        header = request.headers.get("Authorization", "")
        scheme, _space, key = header.partition(" ")
        owner = next((slug for slug, t in self.teams.items() if key and key in t.get("keys", [])), None)
        if scheme != "ApiKey" or owner is None:
            return None, web.json_response({"errors": {"message": "Unauthorized"}}, status=401)
        if team not in self.teams:
            return None, web.json_response({"errors": {"message": "Not found"}}, status=404)
        if owner != team:
            return None, web.json_response({"errors": {"message": "Forbidden"}}, status=403)
        return self.teams[team], None

    def record(self, request: web.Request, status: int) -> None:
        self.log.append({"method": request.method, "path": request.path,
                         "authorization": request.headers.get("Authorization"), "status": status})

    def faulted(self, request: web.Request):
        if self.fault["count"] <= 0:
            return None
        self.fault["count"] -= 1
        status = self.fault["status"]
        headers = {"Retry-After": str(self.fault["retry_after"])} if status == 429 else {}
        body = {"errors": {"message": "Too many requests"}} if status == 429 else {"errors": {"message": "Server error"}}
        return web.json_response(body, status=status, headers=headers)


def build_app(fake: FakeV7) -> web.Application:
    async def answer(request: web.Request, make):
        reply = fake.faulted(request)
        if reply is None:
            team, reply = fake.team_for(request, request.match_info["team"])
            if reply is None:
                reply = make(team)
        fake.record(request, reply.status)
        return reply

    async def list_storage(request):
        def make(team):
            return web.json_response([{k: i.get(k) for k in LIST_FIELDS} for i in team.get("integrations", [])])
        return await answer(request, make)

    async def show_storage(request):
        def make(team):
            found = [i for i in team.get("integrations", []) if i.get("slug") == request.match_info["slug"]]
            if not found:
                return web.json_response({"errors": {"message": "Not found"}}, status=404)
            item = found[0]
            fields = SHOW_FIELDS + PROVIDER_FIELDS.get(item.get("provider"), ())
            return web.json_response({k: item.get(k) for k in fields})
        return await answer(request, make)

    async def put_state(request):
        fake.teams = await request.json()
        fake.log.clear()
        fake.fault = {"status": 0, "count": 0, "retry_after": 0}
        return web.json_response({})

    async def get_log(_request):
        return web.json_response(fake.log)

    async def put_faults(request):
        fake.fault = dict(fake.fault, **await request.json())
        return web.json_response(fake.fault)

    app = web.Application()
    app.router.add_get("/api/teams/{team}/storage", list_storage)
    app.router.add_get("/api/teams/{team}/storage/{slug}", show_storage)
    app.router.add_put("/_control/state", put_state)
    app.router.add_get("/_control/log", get_log)
    app.router.add_put("/_control/faults", put_faults)
    return app


async def serve(args) -> None:
    workdir = args.workdir or tempfile.mkdtemp(prefix="v7api-")
    context, ca_path = make_server_context(workdir)
    runner = web.AppRunner(build_app(FakeV7()), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(json.dumps({"url": f"https://127.0.0.1:{port}", "ca_bundle": ca_path, "port": port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.v7api", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workdir")
    args = parser.parse_args(argv)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
