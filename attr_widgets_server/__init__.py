"""The Jupyter server extension of attr_widgets: TCP_NODELAY on kernel websockets (small frames go at once).

A package of its own, beside ``attr_widgets``: the server imports it at every start, and importing anything
under ``attr_widgets`` would load torch first (seconds). It imports only jupyter_server and traitlets.

jupyter_server's kernel websocket handler never turns Nagle's algorithm off, so a small frame (a slider's new
value, a widget's result header) can wait for the peer's delayed ACK: 40 ms on Linux, each round trip. This
extension calls tornado's ``set_nodelay(True)`` when a kernel websocket opens, and changes nothing else. It is
enabled when the package is installed (``etc/jupyter/jupyter_server_config.d/attr_widgets.json``); turn it off
with ``--KernelWebsocketNoDelay.enabled=False`` (or ``c.KernelWebsocketNoDelay.enabled = False``). If
jupyter_server's handler is not what this expects, it logs one line and leaves the server as it is.
See docs/NODELAY.md.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Any

from traitlets import Bool
from traitlets.config import Configurable

MARK = "_attr_widgets_nodelay"


class KernelWebsocketNoDelay(Configurable):
    """Settings of the attr_widgets server extension."""

    enabled = Bool(True, help="Turn Nagle's algorithm off (TCP_NODELAY) on kernel websockets.").tag(
        config=True
    )


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "attr_widgets_server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    log = getattr(serverapp, "log", logging.getLogger("attr_widgets"))
    if not KernelWebsocketNoDelay(config=serverapp.config).enabled:
        log.info("attr_widgets: TCP_NODELAY on kernel websockets is off (KernelWebsocketNoDelay.enabled).")
        return
    if install(log):
        log.info("attr_widgets: TCP_NODELAY on kernel websockets is on.")


def _kernel_websocket_handler(log: Any) -> type | None:
    try:
        from jupyter_server.services.kernels.websocket import KernelWebsocketHandler
    except ImportError as error:
        log.warning("attr_widgets: no kernel websocket handler to tune (%s); nothing changed.", error)
        return None
    return KernelWebsocketHandler


def install(log: Any, handler: type | None = None) -> bool:
    """Make ``handler.open`` call ``set_nodelay(True)`` first; True when that is in place.

    ``handler`` defaults to jupyter_server's ``KernelWebsocketHandler``.
    """
    target = handler if handler is not None else _kernel_websocket_handler(log)
    if target is None:
        return False
    original: Any = target.__dict__.get("open")
    if getattr(original, MARK, False):
        return True  # already installed (the extension loaded twice)
    known = inspect.iscoroutinefunction(original) and callable(getattr(target, "set_nodelay", None))
    if not known:
        log.warning(
            "attr_widgets: %s is not the handler this extension knows (an async open() and tornado's "
            "set_nodelay); TCP_NODELAY left as it is.",
            target.__name__,
        )
        return False

    @functools.wraps(original)
    async def open(self: Any, *args: Any, **kwargs: Any) -> Any:
        # In open() the connection is established; every frame from here on is sent without waiting.
        self.set_nodelay(True)
        return await original(self, *args, **kwargs)

    setattr(open, MARK, True)
    target.open = open  # type: ignore[attr-defined]
    return True
