"""The evaluation panel's jobs: on demand, cached per settings, with progress and cancel, beside the main one.

An evaluation is not a compute control: it never makes a request of the compute protocol, so it cannot
disturb the staleness rule of the attribution on screen. It evaluates a snapshot of what is on screen (the
published ``Attribution``s, their controls and the input) and writes only the widget's ``evaluation`` and
``evaluation_figures`` traits. A job evaluates one or several subjects: the AttributionWidget's one map
(figures ``{name: data}``), or each map of a CompareWidget (figures ``{method: {name: data}}``).
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
from typing import Any, Protocol

from attr_widgets._torch import model_lock
from attr_widgets.attribution._validation import unknown_name_error

from . import _cells
from ._evaluation import EVALUATIONS, Subject, figure
from ._requests import PROGRESS_INTERVAL_S, Cancelled, describe_error
from ._worker import LatestWins

CACHE_SIZE = 64  # figures kept (per widget), least recently used dropped first
SINGLE = ""  # the label of a widget's only subject: its figures are not nested under a label


class Evaluable(Protocol):
    """What an evaluator needs of its widget."""

    evaluation: dict[str, Any]
    evaluation_figures: dict[str, Any]
    notice: str

    def hold_sync(self) -> Any: ...

    def _evaluation_subjects(
        self, only: Sequence[str] | None = None
    ) -> tuple[dict[str, Any], list[tuple[str, Subject]]]:
        """(the controls on screen, [(label, subject)]), only the labels in ``only`` if given.

        ValueError when nothing is on screen.
        """
        ...


@dataclass(frozen=True)
class Job:
    """One evaluation: which figures, of which subjects (labelled), for which controls."""

    what: tuple[str, ...]
    subjects: tuple[tuple[str, Subject], ...]
    controls: dict[str, Any]
    key: tuple[Any, ...]
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)

    @property
    def total(self) -> int:
        return len(self.what) * len(self.subjects)

    @property
    def nested(self) -> bool:
        return [label for label, _ in self.subjects] != [SINGLE]


def check_what(what: str | Iterable[str], allowed: Sequence[str] = EVALUATIONS) -> tuple[str, ...]:
    """The requested evaluations, validated: names from ``allowed`` (nearest name in the error)."""
    names = (what,) if isinstance(what, str) else tuple(what)
    if not names:
        raise ValueError(f"what: expected one or more of {list(allowed)}, got an empty list.")
    for name in names:
        if not isinstance(name, str) or name not in allowed:
            raise unknown_name_error("what", name, allowed)
    return tuple(dict.fromkeys(names))


def run_evaluation(
    evaluator: Evaluator | None, what: str | Sequence[str], only: Sequence[str] | None = None
) -> dict[str, Any]:
    """``w.evaluate(what)``: the job for what is on screen (the subjects in ``only``), on this thread."""
    if evaluator is None:
        raise TypeError("evaluate: this widget has no evaluation panel.")
    return evaluator.run(evaluator.snapshot(what, only))


class Evaluator:
    """Runs, caches and reports the evaluation jobs of one widget."""

    def __init__(self, widget: Evaluable, allowed: Sequence[str] = EVALUATIONS) -> None:
        self._widget = widget
        self.allowed = tuple(allowed)
        self._lock = threading.RLock()
        self._cache: OrderedDict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = OrderedDict()
        self._worker: LatestWins[Job] = LatestWins(self._run_in_background, "attr_widgets-evaluate")
        self._job: Job | None = None
        self.computed = 0  # figures computed (not served from the cache), for tests

    # -- jobs
    def snapshot(self, what: str | Sequence[str], only: Sequence[str] | None = None) -> Job:
        """A job for what is on screen (the subjects in ``only``); ValueError when nothing is on screen."""
        names = check_what(what, self.allowed)
        controls, subjects = self._widget._evaluation_subjects(only)
        return Job(names, tuple(subjects), dict(controls), tuple(sorted(controls.items())))

    def on_view_message(self, content: dict[str, Any]) -> bool:
        """Handle the view's "evaluate" / "evaluate_cancel" messages; False for any other message."""
        kind = content.get("type")
        if kind == "evaluate":
            try:
                only = content.get("methods")
                self.submit(self.snapshot(content.get("what", self.allowed), only))
            except (ValueError, TypeError) as exc:
                self._widget.notice = f"{type(exc).__name__}: {exc}"
            _cells.guard_interrupts()  # a kernel interrupt cancels it, as it does a recompute
            return True
        if kind == "evaluate_cancel":
            self.cancel()
            return True
        return False

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
        results: dict[str, dict[str, Any]] = {}
        figures: dict[str, dict[str, Any]] = {label: {} for label, _ in job.subjects}
        with self._lock:  # the panel shows every figure known for these settings, of any subject
            for key, value in self._cache.items():
                if key[:-2] == job.key:
                    figures.setdefault(key[-2], {})[key[-1]] = value[1]
        done = 0
        try:
            self._report(job, "computing", 0, job.what[0], start, figures)
            for label, subject in job.subjects:
                for name in job.what:
                    value = self._figure(job, label, subject, name, done, start)
                    results.setdefault(label, {})[name], figures[label][name] = value
                    done += 1
                    # A figure is sent once, when it is done; progress reports carry only the counts.
                    self._report(job, "computing", done, name, start, figures)
        except (Cancelled, KeyboardInterrupt):
            self._report(job, "cancelled", done, "", start)
            raise
        except BaseException as exc:
            self._report(job, "error", done, "", start, error=describe_error(exc))
            raise
        self._report(job, "idle", job.total, "", start)
        return results if job.nested else results[SINGLE]

    def _figure(
        self, job: Job, label: str, subject: Subject, name: str, index: int, start: float
    ) -> tuple[Any, dict]:
        key = (*job.key, label, name)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        if job.cancel.is_set():
            raise Cancelled("evaluation was cancelled")
        last = [0.0]
        calls = [0, 0]  # attribute calls seen, the last `done`
        what = f"{name} of {label}" if label else name

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
                self._report(job, "computing", index + share, what, start)

        with model_lock(subject.model):
            value = figure(name, subject, progress)
        self.computed += 1
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    def _report(self, job: Job, state: str, done: float, name: str, start: float,
                figures: dict[str, dict[str, Any]] | None = None,
                error: str | None = None) -> None:  # fmt: skip
        """Progress in ``evaluation``; with ``figures``, also ``evaluation_figures`` (one message)."""
        w = self._widget
        with self._lock:
            if job is not self._job:
                return  # overtaken by a newer job: its reports win
            message = f"computing {name}…" if state == "computing" else state if state != "idle" else ""
            with w.hold_sync():
                if figures is not None:
                    shown = {k: dict(v) for k, v in figures.items()} if job.nested else dict(figures[SINGLE])
                    w.evaluation_figures = {"controls": dict(job.controls), "figures": shown}
                w.evaluation = {
                    "state": state,
                    "what": list(job.what),
                    "done": float(done),
                    "total": job.total,
                    "elapsed_ms": (time.perf_counter() - start) * 1000,
                    "message": message,
                    "error": error,
                }
