"""A "latest request wins" background runner for recomputations asked for by the browser.

The kernel handles comm messages on its shell thread, one after the other. Dragging a slider sends a
message per step; computing each one there would queue seconds of stale work and freeze the kernel. Instead
the shell thread only records the newest request here and returns; one worker thread runs the newest
request, and requests that were overtaken before they started are never run. The thread exists only while
there is work, so an idle widget holds no thread and nothing keeps it alive.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")

log = logging.getLogger("attr_widgets")


class LatestWins(Generic[Item]):
    """Run ``work(item)`` on a background thread for the newest item submitted; skip overtaken ones."""

    def __init__(self, work: Callable[[Item], None], name: str) -> None:
        self._work = work
        self._name = name
        self._cond = threading.Condition()
        self._pending: Item | None = None
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

    def idle(self) -> bool:
        """True when nothing is pending or running."""
        with self._cond:
            return self._thread is None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is pending or running; False if ``timeout`` seconds passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._thread is None, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                item = self._pending
                self._pending = None
                if item is None:
                    self._thread = None
                    self._cond.notify_all()
                    return
            try:
                self._work(item)
            except BaseException:  # the work reports its own errors; this keeps the runner alive regardless
                log.exception("attr_widgets: background recomputation crashed")
