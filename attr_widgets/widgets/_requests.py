"""A request of the compute protocol: its numbered snapshot of the controls, progress, cancel, errors.

The pieces :mod:`._base` and the widgets' compute modules share without needing the widget class itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PROGRESS_INTERVAL_S = 0.1  # at most ten progress messages a second


class Cancelled(Exception):
    """The request was cancelled (cancel button, ``w.cancel()`` or a kernel interrupt)."""


Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Request:
    """One numbered request: a snapshot of every compute control when it was made."""

    seq: int
    controls: Mapping[str, Any]
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)
    # The units of work last reported (done, total): the "idle" activity that comes with the result carries
    # them, so a quick computation needs no progress message of its own.
    units: list[int] = field(default_factory=lambda: [1, 1], compare=False)

    def __getitem__(self, name: str) -> Any:
        return self.controls[name]


def first_result_traits(first: Request, payload: Mapping[str, Any], elapsed_ms: float) -> dict[str, Any]:
    """``request_seq``, ``result`` and ``activity`` of a widget born showing its first result.

    Every widget computes its first request in ``__init__``, on the calling thread (errors raise there), and
    starts as request 1, answered, idle.
    """
    return {
        "request_seq": 1,
        "result": {
            "seq": 1,
            "controls": dict(first.controls),
            **first.controls,
            **payload,
            "error": None,
            "elapsed_ms": elapsed_ms,
        },
        "activity": {
            "state": "idle",
            "seq": 1,
            "done": 1,
            "total": 1,
            "elapsed_ms": elapsed_ms,
            "eta_ms": None,
            "message": "",
        },
    }


def describe_error(exc: BaseException) -> str:
    """One readable line (or a few) for the view's error box."""
    text = str(exc).strip() or repr(exc)
    return f"{type(exc).__name__}: {text}"
