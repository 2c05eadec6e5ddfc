"""Start a real jupyter_server in this process, open a kernel websocket, print its server socket's NODELAY.

    python nodelay_probe.py [extra ServerApp arguments...]

Prints one line: ``nodelay=<0|1> loaded=<extension names>``. Used by tests/server/test_nodelay.py: the socket
option is read on the server's side of the connection (the handler's own socket), not inferred from a timing.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import sys
import tempfile

from jupyter_server.serverapp import ServerApp
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

TOKEN = "probe-token"


async def probe(app: ServerApp) -> int:
    base = f"http://127.0.0.1:{app.port}"
    headers = {"Authorization": f"token {TOKEN}"}
    client = AsyncHTTPClient()
    reply = await client.fetch(
        HTTPRequest(f"{base}/api/kernels", method="POST", body="{}", headers=headers)
    )
    kernel = json.loads(reply.body)["id"]
    ws = await websocket_connect(
        HTTPRequest(f"ws://127.0.0.1:{app.port}/api/kernels/{kernel}/channels", headers=headers)
    )
    await asyncio.sleep(0.5)
    # type(o), not isinstance: some objects (torch proxies) warn when their __class__ is read.
    handlers = [o for o in gc.get_objects() if issubclass(type(o), KernelWebsocketHandler)]
    option = (socket.IPPROTO_TCP, socket.TCP_NODELAY)
    values = {h.ws_connection.stream.socket.getsockopt(*option) for h in handlers}
    ws.close()
    await app.kernel_manager.shutdown_kernel(kernel, now=True)
    return int(values == {1})  # 1 only when every open kernel websocket has Nagle off


def main() -> None:
    root = tempfile.mkdtemp()
    app = ServerApp()
    app.initialize(
        argv=[f"--ServerApp.root_dir={root}", "--ServerApp.port=0", "--ServerApp.open_browser=False",
              f"--IdentityProvider.token={TOKEN}", "--ServerApp.port_retries=0", "--allow-root",
              *sys.argv[1:]]
    )  # fmt: skip
    app.start_app() if hasattr(app, "start_app") else None
    loop = asyncio.get_event_loop()
    value = loop.run_until_complete(probe(app))
    loaded = sorted(name for name, on in app.jpserver_extensions.items() if on)
    print(f"nodelay={value} loaded={','.join(loaded)}")
    loop.run_until_complete(app._cleanup()) if hasattr(app, "_cleanup") else None


if __name__ == "__main__":
    main()
