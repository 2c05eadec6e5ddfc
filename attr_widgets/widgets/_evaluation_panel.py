"""The evaluation panel's jobs: on demand, cached per settings, with progress and cancel, beside the main one.

An evaluation is not a compute control: it never makes a request of the compute protocol, so it cannot
disturb the staleness rule of the attribution on screen. It evaluates a snapshot of what is on screen (the
published ``Attribution``, its controls and the input) and writes only the widget's ``evaluation`` trait.
A job from the view runs on its own :class:`LatestWins` worker (the shell thread only records it, as for the
main requests); a call from Python runs on the calling thread. Each figure holds the per-model lock while it
runs, so a recompute of the heatmap waits at most for one figure, never for the whole job.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from attr_widgets._torch import model_lock
from attr_widgets.attribution._validation import unknown_name_error

from ._base import PROGRESS_INTERVAL_S, Cancelled, describe_error
from ._evaluation import EVALUATIONS, Subject, figure
from ._worker import LatestWins

if TYPE_CHECKING:
    from ._attribution_widget import AttributionWidget

CACHE_SIZE = 64  # figures kept (per widget), least recently used dropped first


@dataclass(frozen=True)
class Job:
    """One evaluation: which figures, of which snapshot."""

    what: tuple[str, ...]
    subject: Subject
    key: tuple[Any, ...]
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


def check_what(what: str | Iterable[str]) -> tuple[str, ...]:
    """The requested evaluations, validated: names from ``EVALUATIONS`` (nearest name in the error)."""
    names = (what,) if isinstance(what, str) else tuple(what)
    if not names:
        raise ValueError(f"what: expected one or more of {list(EVALUATIONS)}, got an empty list.")
    for name in names:
        if not isinstance(name, str) or name not in EVALUATIONS:
            raise unknown_name_error("what", name, EVALUATIONS)
    return tuple(dict.fromkeys(names))


class Evaluator:
    """Runs, caches and reports the evaluation jobs of one AttributionWidget."""

    def __init__(self, widget: AttributionWidget) -> None:
        self._widget = widget
        self._lock = threading.RLock()
        self._cache: OrderedDict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = OrderedDict()
        self._worker: LatestWins[Job] = LatestWins(self._run_in_background, "attr_widgets-evaluate")
        self._job: Job | None = None
        self.computed = 0  # figures computed (not served from the cache), for tests

    # -- jobs
    def snapshot(self, what: Sequence[str]) -> Job:
        """A job for the attribution on screen; ValueError when nothing is on screen."""
        w = self._widget
        with w._sync_lock:
            attribution, result = w.attribution, w.result
            if attribution is None or result is None or result.get("error"):
                raise ValueError("evaluate: there is no attribution on screen to evaluate (the last request "
                                 "failed); fix the settings first.")  # fmt: skip
            controls = dict(result["controls"])
            subject = Subject(w.model, w.inputs, attribution, controls, w._output)
        key = tuple(sorted(controls.items()))
        return Job(check_what(what), subject, key)

    def submit(self, job: Job) -> None:
        """Run ``job`` on the worker (from the view)."""
        with self._lock:
            if self._job is not None:
                self._job.cancel.set()
            self._job = job
        self._worker.submit(job)

    def run(self, job: Job) -> dict[str, Any]:
        """Run ``job`` here (from Python); a job from the view still in flight is cancelled first."""
        with self._lock:
            if self._job is not None:
                self._job.cancel.set()
            self._job = job
        self._worker.wait()
        return self._execute(job)

    def cancel(self) -> None:
        """Stop the job in flight at its next model call; the figures done so far stay."""
        with self._lock:
            if self._job is not None:
                self._job.cancel.set()

    def idle(self) -> bool:
        return self._worker.idle()

    def wait(self, timeout: float | None) -> bool:
        return self._worker.wait(timeout)

    def _run_in_background(self, job: Job) -> None:
        try:
            self._execute(job)
        except BaseException:  # reported in the trait; nothing to raise to on a worker thread
            pass

    # -- the work
    def _execute(self, job: Job) -> dict[str, Any]:
        start = time.perf_counter()
        results: dict[str, Any] = {}
        with self._lock:  # the panel shows every figure known for these settings, not only the new ones
            figures = {key[-1]: value[1] for key, value in self._cache.items() if key[:-1] == job.key}
        try:
            self._report(job, "computing", 0, job.what[0], start, figures)
            for index, name in enumerate(job.what):
                results[name], figures[name] = self._figure(job, name, index, start)
                # A figure is sent once, when it is done; progress reports carry only the counts.
                self._report(job, "computing", index + 1, name, start, figures)
        except (Cancelled, KeyboardInterrupt):
            self._report(job, "cancelled", len(results), "", start)
            raise
        except BaseException as exc:
            self._report(job, "error", len(results), "", start, error=describe_error(exc))
            raise
        self._report(job, "idle", len(job.what), "", start)
        return results

    def _figure(self, job: Job, name: str, index: int, start: float) -> tuple[Any, dict]:
        key = (*job.key, name)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        if job.cancel.is_set():
            raise Cancelled("evaluation was cancelled")
        last = [0.0]
        calls = [0, 0]  # attribute calls seen, the last `done`

        def progress(done: int, total: int) -> None:
            # Called by the engine after each model call of each `attribute` call: the place to stop.
            if job.cancel.is_set():
                raise Cancelled("evaluation was cancelled")
            if done <= calls[1]:
                calls[0] += 1
            calls[1] = done
            now = time.perf_counter()
            if now - last[0] >= PROGRESS_INTERVAL_S:
                last[0] = now
                # The share of a figure done is unknown up front: each attribute call halves what is left.
                share = 1 - 0.5 ** (calls[0] + done / max(total, 1))
                self._report(job, "computing", index + share, name, start)

        with model_lock(job.subject.model):
            value = figure(name, job.subject, progress)
        self.computed += 1
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    def _report(self, job: Job, state: str, done: float, name: str, start: float,
                figures: dict[str, Any] | None = None, error: str | None = None) -> None:  # fmt: skip
        """Progress in ``evaluation``; with ``figures``, also ``evaluation_figures`` (one message)."""
        w = self._widget
        with self._lock:
            if job is not self._job:
                return  # overtaken by a newer job: its reports win
            message = f"computing {name}…" if state == "computing" else state if state != "idle" else ""
            with w.hold_sync():
                if figures is not None:
                    w.evaluation_figures = {"controls": dict(job.subject.controls), "figures": dict(figures)}
                w.evaluation = {
                    "state": state,
                    "what": list(job.what),
                    "done": float(done),
                    "total": len(job.what),
                    "elapsed_ms": (time.perf_counter() - start) * 1000,
                    "message": message,
                    "error": error,
                }
