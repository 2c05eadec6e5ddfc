"""Delayed calls on one long-lived thread shared by every widget of the process (the fallback's updates).

``threading.Timer`` starts a thread per call: in a busy kernel that cost the calling thread (the one that
publishes results) about 2 ms per result (``Thread.start`` waits until the new thread runs), and each new
thread opens a new event pipe into ipykernel's IOPub thread. One daemon thread that stays avoids both.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("attr_widgets")


class Handle:
    """A scheduled call; ``cancel()`` stops it if it has not run yet."""

    def __init__(self, deadline: float, fn: Callable[[], None]) -> None:
        self.deadline = deadline
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    """Run callables after a delay, in deadline order, on one daemon thread started on first use."""

    def __init__(self, name: str = "attr_widgets-timers") -> None:
        self._name = name
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Handle]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def call_later(self, delay: float, fn: Callable[[], None]) -> Handle:
        handle = Handle(time.monotonic() + max(0.0, delay), fn)
        with self._cond:
            heapq.heappush(self._heap, (handle.deadline, next(self._order), handle))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()
        return handle

    def _next_due(self) -> Handle:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    return heapq.heappop(self._heap)[2]
                self._cond.wait(None if not self._heap else self._heap[0][0] - now)

    def _run(self) -> None:
        while True:
            handle = self._next_due()
            try:
                handle.fn()
            except Exception:  # one widget's failing callback must not stop the others' timers
                log.exception("attr_widgets: a delayed call failed")


TIMERS = Timers()
