"""Recomputation for the attribution widget: numbered requests, the browser's background worker, errors.

Every change of a compute control is a request with the next sequence number; ``request_seq`` tells the view
which number it waits for, and a result carries the number it answers. A result is published only while it
answers the newest request, and the view drops any that arrive late (see js/src/store.ts), so a slow
answer to an old request never replaces a newer one.

Where the work runs depends on who asked:
- from Python (``w.method = ...``), on the calling thread before the assignment returns, so errors raise
  there;
- from the browser (a comm message on the kernel's shell thread), on a :class:`LatestWins` worker, so the
  shell stays free and a dragged slider computes only the newest value. Its errors appear in the view and
  in the log, and ``wait()`` re-raises them.
One lock keeps the model to one computation at a time; another keeps the worker's publishing apart from the
shell thread's state updates (ipywidgets' sync bookkeeping is not thread-safe).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from traitlets import TraitError

from attr_widgets.attribution import Attribution, attribute

from ._serialize import binary_array, channel_sum
from ._worker import LatestWins

log = logging.getLogger("attr_widgets")

COMPUTE_KEYS = frozenset({"method", "target", "baseline", "n_steps"})


@dataclass(frozen=True)
class Request:
    """One numbered compute request: a snapshot of the controls when it was made."""

    seq: int
    method: str
    target: int
    baseline: str
    n_steps: int
    inputs: torch.Tensor


def describe_error(exc: BaseException) -> str:
    """One readable line (or a few) for the view's error box."""
    text = str(exc).strip() or repr(exc)
    return f"{type(exc).__name__}: {text}"


class Recomputing:
    """Mixin for an anywidget with the compute controls; the widget supplies the model and display details."""

    _model: Any
    _output: Any
    _ready: bool

    def _init_recompute(self) -> None:
        self._ready = False
        self._seq = 0
        self._suspend_depth = 0
        self._frontend_depth = 0
        self._sync_lock = threading.RLock()
        self._compute_lock = threading.Lock()
        self._worker: LatestWins[Request] = LatestWins(self._run_in_background, "attr_widgets-recompute")
        self._attribution: Attribution | None = None
        self._error: BaseException | None = None
        self._last_elapsed_ms = 0.0
        self.dropped = 0  # results computed for requests that were overtaken while they ran

    # -- requests
    @property
    def _suspended(self) -> bool:
        return self._suspend_depth > 0

    @contextmanager
    def _requests_suspended(self) -> Iterator[None]:
        """Group several control updates into one request (made by the caller afterwards)."""
        self._suspend_depth += 1
        try:
            yield
        finally:
            self._suspend_depth -= 1

    def _request(self, keep_notice: bool = False) -> None:
        if not self._ready or self._suspended:
            return
        with self._sync_lock:
            self._seq += 1
            request = Request(
                self._seq, self.method, self.target, self.baseline, self.n_steps, self.inputs  # type: ignore[attr-defined]
            )
            self.request_seq = request.seq
            if not keep_notice:
                self.notice = ""
        if self._frontend_depth > 0:
            self._worker.submit(request)
            return
        error = self._run(request)
        if error is not None:
            raise error

    def _compute(self, request: Request) -> Attribution:
        start = time.perf_counter()
        attribution = attribute(
            self._model,
            request.inputs,
            method=request.method,
            target=request.target,
            baseline=request.baseline,
            n_steps=request.n_steps,
            output=self._output,
        )
        self._last_elapsed_ms = (time.perf_counter() - start) * 1000
        return attribution

    def _run(self, request: Request) -> BaseException | None:
        """Compute and publish ``request``; return its error if it failed and was still the newest."""
        with self._compute_lock:
            if request.seq != self._seq:
                return None  # overtaken before it started
            attribution: Attribution | None = None
            error: BaseException | None = None
            try:
                attribution = self._compute(request)
                payload = self._payload(request, attribution, self._last_elapsed_ms)
            except Exception as exc:
                error = exc
                attribution = None
                payload = self._error_payload(request, exc)
            published = self._publish(request, payload, attribution, error)
        return error if published else None

    def _run_in_background(self, request: Request) -> None:
        error = self._run(request)
        if error is not None:
            log.warning("AttributionWidget: request %d failed: %s", request.seq, describe_error(error))

    def _publish(
        self,
        request: Request,
        payload: dict[str, Any],
        attribution: Attribution | None,
        error: BaseException | None,
    ) -> bool:
        with self._sync_lock:
            if request.seq != self._seq:
                self.dropped += 1
                return False
            self._attribution = attribution
            self._error = error
            self.result = payload
            return True

    # -- payloads
    def _base_payload(self, request: Request) -> dict[str, Any]:
        return {
            "seq": request.seq,
            "method": request.method,
            "target": request.target,
            "baseline": request.baseline,
            "n_steps": request.n_steps,
            "target_prob": self._target_probability(request.target),  # type: ignore[attr-defined]
        }

    def _payload(self, request: Request, attribution: Attribution, elapsed_ms: float) -> dict[str, Any]:
        completeness = None
        relative = attribution.relative_delta
        baseline_outputs = attribution.baseline_outputs
        if attribution.delta is not None and relative is not None and baseline_outputs is not None:
            completeness = {
                "delta": float(attribution.delta[0]),
                "relative": float(relative[0]),
                "fx": float(attribution.outputs[0]),
                "fb": float(baseline_outputs[0]),
            }
        return {
            **self._base_payload(request),
            "heatmap": binary_array(channel_sum(attribution.values)),
            "completeness": completeness,
            "error": None,
            "elapsed_ms": elapsed_ms,
        }

    def _error_payload(self, request: Request, exc: BaseException) -> dict[str, Any]:
        return {
            **self._base_payload(request),
            "heatmap": None,
            "completeness": None,
            "error": describe_error(exc),
            "elapsed_ms": 0.0,
        }

    # -- the browser's changes and rejected values
    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply a state update from the view (on the shell thread); see the module docstring."""
        with self._sync_lock:
            seq_before = self._seq
            self._frontend_depth += 1
            try:
                super().set_state(sync_data)  # type: ignore[misc]
            except TraitError as exc:
                # traitlets rolled the change back; put the view's controls back too and say why.
                self.notice = describe_error(exc)
                self._error = exc
                self.send_state([key for key in sync_data if key in self.keys])  # type: ignore[attr-defined]
                log.warning("AttributionWidget: rejected a change from the view: %s", exc)
            finally:
                self._frontend_depth -= 1
            if COMPUTE_KEYS & sync_data.keys() and self._seq == seq_before:
                # The view counts on a new request number for every compute change it sends (to know which
                # result is current), also when the value was rejected or did not change here.
                self._frontend_depth += 1
                try:
                    self._request(keep_notice=True)
                finally:
                    self._frontend_depth -= 1

    def _trait_rejected(self, name: str | None, error: TraitError) -> None:
        """Called by the trait types before they raise: show a rejected Python assignment in the view."""
        if self._ready and self._frontend_depth == 0:
            self.notice = describe_error(error)

    # -- public
    @property
    def error(self) -> BaseException | None:
        """The exception of the newest request (or rejected change from the view), or None."""
        return self._error

    @property
    def busy(self) -> bool:
        """True while a change made in the browser is still being computed."""
        return not self._worker.idle()

    def wait(self, timeout: float | None = 60.0) -> None:
        """Block until the browser's changes are computed; raise the newest request's error, if any.

        Raises:
            TimeoutError: the computation did not finish within ``timeout`` seconds.
        """
        if not self._worker.wait(timeout):
            raise TimeoutError(f"AttributionWidget: still computing after {timeout} s.")
        if self._error is not None:
            raise self._error
