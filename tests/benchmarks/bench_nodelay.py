"""Benchmark: a kernel round trip through jupyter_server's websocket, TCP_NODELAY off vs on, in one run.

    python tests/benchmarks/bench_nodelay.py            # 60 round trips each
    python tests/benchmarks/bench_nodelay.py --quick    # 8 each (a smoke run)

A real jupyter_server runs in this process; a websocket client sends ``execute_request`` ("pass") on the
shell channel and times until its ``execute_reply``, first on a websocket opened as jupyter_server does it
(Nagle on), then on one opened after ``attr_widgets_server.install`` (Nagle off). Direct ZMQ is the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_server.serverapp import ServerApp
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from attr_widgets_server import install  # noqa: E402

TOKEN = "bench-token"


def execute_request(session: str) -> dict:
    msg_id = uuid.uuid4().hex
    return {
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session, "username": "bench",
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": "pass", "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }  # fmt: skip


async def websocket_round_trips(port: int, kernel: str, count: int) -> list[float]:
    headers = {"Authorization": f"token {TOKEN}"}
    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels"
    ws = await websocket_connect(HTTPRequest(url, headers=headers))
    session, times = uuid.uuid4().hex, []
    for i in range(count + 3):
        request = execute_request(session)
        start = time.perf_counter()
        await ws.write_message(json.dumps(request))
        while True:
            reply = json.loads(await ws.read_message())
            if (
                reply["msg_type"] == "execute_reply"
                and reply["parent_header"]["msg_id"] == request["header"]["msg_id"]
            ):
                break
        if i >= 3:  # the first few warm the kernel and the connection
            times.append((time.perf_counter() - start) * 1000)
    ws.close()
    return times


async def zmq_round_trips(count: int) -> list[float]:
    manager = AsyncKernelManager()
    await manager.start_kernel()
    client = manager.client()
    client.start_channels()
    await client.wait_for_ready(timeout=60)
    times = []
    for i in range(count + 3):
        start = time.perf_counter()
        await client.execute_interactive("pass", timeout=30)
        if i >= 3:
            times.append((time.perf_counter() - start) * 1000)
    client.stop_channels()
    await manager.shutdown_kernel(now=True)
    return times


async def run(app: ServerApp, count: int) -> list[tuple[str, list[float]]]:
    client = AsyncHTTPClient()
    url = f"http://127.0.0.1:{app.port}/api/kernels"
    reply = await client.fetch(HTTPRequest(url, method="POST", body="{}",
                                           headers={"Authorization": f"token {TOKEN}"}))  # fmt: skip
    kernel = json.loads(reply.body)["id"]
    rows = [("kernel websocket, Nagle on (as shipped)", await websocket_round_trips(app.port, kernel, count))]
    install(logging.getLogger("bench"))
    rows.append(
        ("kernel websocket, TCP_NODELAY (extension)", await websocket_round_trips(app.port, kernel, count))
    )
    rows.append(("ZMQ directly (jupyter_client), the floor", await zmq_round_trips(count)))
    await app.kernel_manager.shutdown_kernel(kernel, now=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 round trips each (a smoke run)")
    args = parser.parse_args()
    count = 8 if args.quick else 60
    logging.disable(logging.WARNING)
    app = ServerApp()
    # The extension must not be loaded by the config here: the first row is the server as jupyter ships it.
    app.initialize(argv=[f"--ServerApp.root_dir={tempfile.mkdtemp()}", "--ServerApp.port=0", "--allow-root",
                         "--ServerApp.open_browser=False", f"--IdentityProvider.token={TOKEN}",
                         '--ServerApp.jpserver_extensions={"attr_widgets_server": False}'])  # fmt: skip
    app.start_app() if hasattr(app, "start_app") else None
    rows = asyncio.get_event_loop().run_until_complete(run(app, count))
    print(f"Kernel round trip (execute 'pass' → execute_reply), {count} each, ms")
    print(f"{'path':<44} {'p50':>7} {'p95':>7}")
    for name, times in rows:
        times.sort()
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(f"{name:<44} {statistics.median(times):7.1f} {p95:7.1f}")


if __name__ == "__main__":
    main()
