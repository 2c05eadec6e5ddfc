"""A "latest request wins" background runner for recomputations asked for by the browser.

The kernel handles comm messages on its shell thread, one after the other. Dragging a slider sends a
message per step; computing each one there would queue seconds of stale work and freeze the kernel. Instead
the shell thread only records the newest request here and returns; one worker thread runs the newest
request, and requests that were overtaken before they started are never run.

The thread stays for ``LINGER_S`` after its last item, then ends: an idle widget holds no thread, but the
steps of one interaction (a slider dragged, classes clicked through) reuse one thread. Starting a thread
per request cost about 3 ms of the shell thread each time (``Thread.start`` waits for the new thread to
run), and every new thread opens a new event pipe into ipykernel's IOPub thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")

log = logging.getLogger("attr_widgets")

LINGER_S = 10.0


class LatestWins(Generic[Item]):
    """Run ``work(item)`` on a background thread for the newest item submitted; skip overtaken ones."""

    def __init__(self, work: Callable[[Item], None], name: str) -> None:
        self._work = work
        self._name = name
        self._cond = threading.Condition()
        self._pending: Item | None = None
        self._running = False
        self._thread: threading.Thread | None = None
        self.skipped = 0  # requests overtaken before they started (for tests and the benchmark)

    def submit(self, item: Item) -> None:
        """Make ``item`` the next thing to run, replacing a pending one that has not started."""
        with self._cond:
            if self._pending is not None:
                self.skipped += 1
            self._pending = item
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            else:
                self._cond.notify_all()

    def idle(self) -> bool:
        """True when nothing is pending or running."""
        with self._cond:
            return self._idle()

    def _idle(self) -> bool:
        return self._pending is None and not self._running

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is pending or running; False if ``timeout`` seconds passed first."""
        with self._cond:
            return self._cond.wait_for(self._idle, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._pending is not None, LINGER_S):
                    self._thread = None
                    return
                item = self._pending
                self._pending = None
                self._running = True
            assert item is not None  # the wait above returned because one was pending
            try:
                self._work(item)
            except BaseException:  # the work reports its own errors; this keeps the runner alive regardless
                log.exception("attr_widgets: background recomputation crashed")
            finally:
                with self._cond:
                    self._running = False
                    self._cond.notify_all()
