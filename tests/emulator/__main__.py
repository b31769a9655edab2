"""python -m tests.emulator --port PORT --state FILE

Serves the emulated Azure over HTTPS on 127.0.0.1 until SIGTERM. On start it prints one JSON
line: url, metadata_url, cloud_list_url, ca_bundle, control_url, graph_url, port, graph_port,
pid. Microsoft Graph has its own port (graph_url); ARM, Entra, the metadata and the control API
share the other (url)."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile

from aiohttp import web

from .app import CONTROL_PREFIX, Emulator, build_app, build_graph_app
from .state import load_document
from .tls import make_server_context


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--graph-port", type=int, default=0,
                        help="TCP port of Microsoft Graph's own address on 127.0.0.1 (0: any free port)")
    parser.add_argument("--state", help="YAML or JSON file the state is seeded from")
    parser.add_argument("--workdir", help="where the CA bundle is written (default: a new temporary folder)")
    return parser.parse_args(argv)


async def serve(args) -> None:
    doc = load_document(args.state)
    workdir = args.workdir or tempfile.mkdtemp(prefix="azure-emulator-")
    context, ca_path = make_server_context(workdir)
    emulator = Emulator(doc)
    runner = web.AppRunner(build_app(emulator), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, ssl_context=context, backlog=256)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    emulator.base_url = f"https://127.0.0.1:{port}"
    # Microsoft Graph on its own port, as the cloud metadata's microsoftGraphResourceId names it
    graph_runner = web.AppRunner(build_graph_app(emulator), access_log=None, handle_signals=False)
    await graph_runner.setup()
    graph_site = web.TCPSite(graph_runner, "127.0.0.1", args.graph_port, ssl_context=context, backlog=256)
    await graph_site.start()
    emulator.graph_base_url = f"https://127.0.0.1:{graph_site._server.sockets[0].getsockname()[1]}"
    info = {
        "url": emulator.base_url + "/",
        # one object (what the collection and `az cloud register` read) ...
        "metadata_url": f"{emulator.base_url}/metadata/endpoints?api-version=2022-09-01",
        # ... and the list of clouds that azure-cli's ARM_CLOUD_METADATA_URL expects
        "cloud_list_url": f"{emulator.base_url}/metadata/endpoints?api-version=2019-05-01",
        "graph_url": emulator.graph_audience,
        "ca_bundle": ca_path,
        "control_url": emulator.base_url + CONTROL_PREFIX,
        "port": port,
        "graph_port": int(emulator.graph_base_url.rsplit(":", 1)[1]),
        "pid": os.getpid(),
    }
    print(json.dumps(info), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await graph_runner.cleanup()
    await runner.cleanup()


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except OSError as err:
        print(json.dumps({"error": str(err)}), file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
