"""Keep the browser's recomputes and the user's notebook cells apart, and let a kernel interrupt cancel them.

Comm messages are handled on the kernel's shell thread between cells, so a recompute the browser starts runs
on a worker thread while the kernel is otherwise idle. Before each cell, the ``pre_run_cell`` callback
registered here waits for every such recompute, so the user's code (``model.train(); loss.backward()``)
never runs beside the library's hooks. An interrupt during that wait cancels them. While the kernel is idle,
ipykernel ignores SIGINT; :func:`guard_interrupts` makes the handler it restores after each message one that
cancels the recomputes and then does whatever the previous handler did. The user's own threads are the one
case this does not cover.
"""

from __future__ import annotations

import signal
import threading
import time
import weakref
from typing import Any

WAIT_NOTICE_S = 0.5  # say that the cell waits once it waits longer than this

_WIDGETS: weakref.WeakSet[Any] = weakref.WeakSet()
_REGISTERED: set[int] = set()  # ids of the IPython shells we registered with


def register(widget: Any) -> None:
    """Track ``widget`` and register the ``pre_run_cell`` callback on the running IPython shell (once)."""
    _WIDGETS.add(widget)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipywidgets needs IPython
        return
    shell = get_ipython()
    if shell is None or id(shell) in _REGISTERED:
        return
    shell.events.register("pre_run_cell", wait_before_cell)
    _REGISTERED.add(id(shell))


def busy_widgets() -> list[Any]:
    """The tracked widgets with a recompute pending or running."""
    return [w for w in list(_WIDGETS) if w.busy]


def cancel_all() -> int:
    """Cancel every in-flight recompute; return how many widgets were busy."""
    busy = busy_widgets()
    for widget in busy:
        widget.cancel()
    return len(busy)


def wait_before_cell(*_info: Any) -> None:
    """``pre_run_cell``: wait for in-flight recomputes; an interrupt cancels them."""
    busy = busy_widgets()
    if not busy:
        return
    start = time.monotonic()
    told = False
    try:
        for widget in busy:
            while not widget._wait_workers(0.05):
                if not told and time.monotonic() - start > WAIT_NOTICE_S:
                    print("attr_widgets: waiting for a widget's recompute before running this cell "
                          "(interrupt the kernel to cancel it)…")
                    told = True
    except KeyboardInterrupt:
        cancelled = cancel_all()
        for widget in busy:
            widget._wait_workers(5.0)
        print(f"attr_widgets: interrupted: cancelled {cancelled} widget recompute(s).")


def _on_sigint(previous: Any) -> Any:
    def handler(signum: int, frame: Any) -> None:
        cancel_all()
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            raise KeyboardInterrupt

    handler.attr_widgets_previous = previous  # type: ignore[attr-defined]
    return handler


def _ours(handler: Any) -> bool:
    return getattr(handler, "attr_widgets_previous", None) is not None


def guard_interrupts() -> None:
    """On the main thread: make SIGINT cancel the widgets' recomputes, then do what it did before."""
    # Checked on every call, not once: ipykernel swaps the handler around every message it handles
    # (default_int_handler while a handler runs, then back to the one it saved, SIG_IGN while idle), so the
    # handler to wrap is the one it will put back, not the one active now.
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
    except ImportError:  # pragma: no cover - ipywidgets needs IPython
        kernel = None
    if kernel is not None and hasattr(kernel, "saved_sigint_handler"):
        if not _ours(kernel.saved_sigint_handler):
            kernel.saved_sigint_handler = _on_sigint(kernel.saved_sigint_handler)
        return
    try:
        previous = signal.getsignal(signal.SIGINT)
        if not _ours(previous):
            signal.signal(signal.SIGINT, _on_sigint(previous))
    except (ValueError, OSError):  # no signals here (an embedded interpreter)
        return
