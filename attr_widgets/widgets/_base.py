"""The compute protocol every widget shares: controls declared once, numbered requests, progress, cancel.

A widget class declares its compute controls by tagging traits ``compute=True``; this base observes them,
numbers every change as a request, runs it (on the calling thread for Python assignments, on a
:class:`LatestWins` worker for the browser's changes), reports progress in ``activity``, and publishes one
``result`` per request that is still the newest. The contract with the view is docs/WIDGET_CORE.md.

A subclass supplies :meth:`_compute` (the work, returning the payload's own fields and the Python-side
object, e.g. an ``Attribution``) and :meth:`_failure_fields` (the payload of a failed request).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets
from traitlets import TraitError

from . import _cells
from ._fallback import StaticFallback
from ._requests import PROGRESS_INTERVAL_S, Cancelled, Progress, Request, describe_error
from ._worker import LatestWins

if TYPE_CHECKING:
    from torch import nn

    from ._evaluation_panel import Evaluator

log = logging.getLogger("attr_widgets")


# Built by `npm run build` in js/: one ES module per widget class (js/src/entries/<name>.ts), one stylesheet.
STATIC = Path(__file__).resolve().parent.parent / "static"


def bundle(name: str) -> Path:
    """The front end of one widget class: ``static/<name>.js``, built from ``js/src/entries/<name>.ts``."""
    return STATIC / f"{name}.js"


def require_built(cls: type) -> None:
    """Fail with the fix when the front end of ``cls`` was never built (an editable install without npm)."""
    for kind in ("_esm", "_css"):
        path = getattr(getattr(cls, kind, None), "_path", None)
        if path is not None and not Path(path).is_file():
            raise RuntimeError(
                f"The widget's front end {path} is missing. Install the package with pip (its build hook "
                "runs the bundler), or build it by hand: cd js && npm install && npm run build."
            )


class ComputeWidget(anywidget.AnyWidget):
    """Base of every attr_widgets widget: see the module docstring and docs/WIDGET_CORE.md."""

    # One stylesheet for every widget: anywidget adds it to the page once per class, not once per render.
    _css = STATIC / "widgets.css"

    compute_keys = traitlets.List(traitlets.Unicode()).tag(sync=True)
    request_seq = traitlets.Int(0).tag(sync=True)
    result = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    activity = traitlets.Dict().tag(sync=True)
    notice = traitlets.Unicode("").tag(sync=True)
    # to_dict() of the result on screen, for the view's export menu (updated with each final result).
    export_settings = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)

    # Settings hooks (see _settings): the view-only controls a dict carries, the compute controls that are
    # counters rather than choices (never replayed), and the constructor's name for the explained input.
    _view_controls: tuple[str, ...] = ()
    _derived_controls: tuple[str, ...] = ()
    _inputs_argument = "inputs"
    # The view-only controls a saved view (.html) can still use: those the view redraws alone (the compare
    # widget's k and the directions' selected direction need the kernel's answer, so they are not here).
    _saved_view_controls: tuple[str, ...] | None = None  # None: every one of _view_controls
    # Partners of front-end-only links (hover, token hover), set by aw.link:
    # [{"model_id": ..., "names": [...]}].
    linked_views = traitlets.List(traitlets.Dict()).tag(sync=True)
    # The id that marks this widget's static fallback output (``_fallback``): a live view hides that output.
    fallback_id = traitlets.Unicode("").tag(sync=True)

    # Every widget explains one model, set in the subclass's __init__.
    _model: nn.Module

    @property
    def model(self) -> nn.Module:
        """The explained model (never modified by the widget)."""
        return self._model

    def _ipython_display_(self) -> None:
        """Display the view, and under it a script-free picture of it that a live view hides.

        The picture (``_fallback``) is for nbconvert, GitHub and a notebook reopened without its kernel.
        """
        self._fallback.display()

    # -- what a subclass provides
    def _compute(self, request: Request, progress: Progress) -> tuple[dict[str, Any], Any]:
        """Run ``request``; return (the payload's own fields, the Python-side result)."""
        raise NotImplementedError

    def _failure_fields(self, request: Request) -> dict[str, Any]:
        """The payload's own fields for a request that failed."""
        return {}

    def _published(self, value: Any) -> None:
        """Called (under the sync lock) with the Python-side result now on screen, or None after a failure."""

    def _replay_settings(self) -> tuple[str, dict[str, Any]]:
        """(the API call, its keyword arguments) that reproduce the result on screen; see _settings."""
        return type(self).__name__, {}

    def _figures(self) -> dict[str, Any]:
        """The numbers on screen (delta, colour-scale extent, steps taken, ...)."""
        return {}

    def _constructor_options(self) -> dict[str, Any]:
        """Constructor arguments that shape the view (e.g. the methods offered), for from_dict."""
        return {}

    def _replay_inputs(self) -> dict[str, Any] | None:
        """The inputs of the settings' call where the widget holds them in another form (token ids)."""
        return None

    @classmethod
    def _init_from_settings(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """Constructor arguments a settings dict holds beyond its controls (e.g. the compared methods)."""
        return {}

    # -- set-up
    @classmethod
    def compute_trait_names(cls) -> list[str]:
        """The compute controls of this class, in declaration order of their names."""
        return sorted(cls.class_trait_names(compute=True))

    def _init_compute(self) -> None:
        """Call before ``super().__init__`` (the trait validators may already need this state)."""
        require_built(type(self))
        self._ready = False
        self._seq = 0
        self._suspend_depth = 0
        self._frontend_depth = 0
        self._sync_lock = threading.RLock()
        self._compute_lock = threading.Lock()
        self._worker: LatestWins[Request] = LatestWins(self._run_in_background, "attr_widgets-recompute")
        # A widget with an evaluation panel sets one (_evaluation_panel): its jobs count as busy, are
        # cancelled and waited for with the recomputes, and it answers the view's "evaluate" messages.
        self._evaluator: Evaluator | None = None
        self._current: Request | None = None
        self._error: BaseException | None = None
        self._cancelled: Request | None = None
        # The last final result while a preliminary one is shown (restored if that request is cancelled).
        self._final_result: dict[str, Any] | None = None
        self.dropped = 0  # results computed for requests that were overtaken while they ran

    def _start(self, first_seq: int = 1) -> None:
        """Finish construction: observe the compute controls, hook into cell execution, go live."""
        self._seq = first_seq
        self.compute_keys = self.compute_trait_names()
        self.observe(self._on_compute_control, names=self.compute_keys)
        self.on_msg(self._on_view_message)
        _cells.register(self)
        self._fallback = StaticFallback(self)
        self._ready = True
        self.observe(lambda _change: self._export(), names=list(self._view_controls))
        self._export()

    def _export(self) -> None:
        """Publish to_dict() in ``export_settings`` (a failure to describe the result never fails it)."""
        try:
            self.export_settings = self.to_dict()
        except Exception as exc:  # noqa: BLE001  (the result is on screen; only its export is missing)
            log.warning("%s: export_settings not updated: %s", type(self).__name__, describe_error(exc))

    def _snapshot(self, seq: int) -> Request:
        return Request(seq, MappingProxyType({name: getattr(self, name) for name in self.compute_keys}))

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

    def _on_compute_control(self, change: dict[str, Any]) -> None:
        self._control_changed(change)
        self._request()

    def _control_changed(self, change: dict[str, Any]) -> None:
        """Hook for subclasses: a compute control changed (before its request is made)."""

    def _request(self, keep_notice: bool = False) -> None:
        if not self._ready or self._suspended:
            return
        with self._sync_lock:
            self._seq += 1
            request = self._snapshot(self._seq)
            previous = self._current
            if previous is not None:
                previous.cancel.set()  # overtaken: stop it at its next model call
            self._current = request
            # One message for the new request number and its "computing" state (the view needs neither to
            # wait for the result, so each extra message is only work for the page).
            with self.hold_sync():
                self.request_seq = request.seq
                self._set_activity("computing", request)
                if not keep_notice:
                    self.notice = ""
        if self._frontend_depth > 0:
            self._worker.submit(request)
            return
        error = self._run(request)
        if error is not None:
            raise error

    def _progress(self, request: Request) -> Progress:
        """A throttled progress callback for ``request`` that also raises :class:`Cancelled` when asked."""
        start = time.perf_counter()
        last = [start]  # the first report after PROGRESS_INTERVAL_S: a quick computation sends none

        def report(done: int, total: int) -> None:
            if request.cancel.is_set():
                raise Cancelled(f"request {request.seq} was cancelled")
            request.units[:] = [int(done), int(total)]
            now = time.perf_counter()
            if now - last[0] < PROGRESS_INTERVAL_S and (done < total or now - start < PROGRESS_INTERVAL_S):
                return  # at most every 100 ms, and at 100 % only for work that has shown progress
            last[0] = now
            elapsed = now - start
            eta = elapsed * (total - done) / done if 0 < done <= total else None
            self._set_activity("computing", request, done, total, elapsed, eta)

        return report

    def _set_activity(
        self,
        state: str,
        request: Request,
        done: int = 0,
        total: int = 0,
        elapsed_s: float = 0.0,
        eta_s: float | None = None,
        message: str = "",
    ) -> None:
        with self._sync_lock:
            if request.seq != self._seq and state == "computing":
                return
            self.activity = {
                "state": state,
                "seq": request.seq,
                "done": int(done),
                "total": int(total),
                "elapsed_ms": elapsed_s * 1000,
                "eta_ms": None if eta_s is None else eta_s * 1000,
                "message": message,
            }

    def _run(self, request: Request) -> BaseException | None:
        """Compute and publish ``request``; return its error if it failed and was still the newest."""
        with self._compute_lock:
            if request.seq != self._seq or request.cancel.is_set():
                return None  # overtaken (or cancelled) before it started
            start = time.perf_counter()
            value: Any = None
            error: BaseException | None = None
            try:
                fields, value = self._compute(request, self._progress(request))
            except Cancelled:
                self._mark_cancelled(request, time.perf_counter() - start)
                return None
            except BaseException as exc:  # KeyboardInterrupt too: it must reach the view and wait()
                error = exc
                fields = self._failure_fields(request)
            elapsed = time.perf_counter() - start
            payload = {
                "seq": request.seq,
                "controls": dict(request.controls),
                **request.controls,
                **fields,
                "error": None if error is None else describe_error(error),
                "elapsed_ms": elapsed * 1000,
            }
            published = self._publish(request, payload, value, error, elapsed)
        return error if published else None

    def _run_in_background(self, request: Request) -> None:
        error = self._run(request)
        if error is not None:
            log.warning("%s: request %d failed: %s", type(self).__name__, request.seq, describe_error(error))

    def _publish(
        self,
        request: Request,
        payload: dict[str, Any],
        value: Any,
        error: BaseException | None,
        elapsed: float,
    ) -> bool:
        with self._sync_lock:
            if request.seq != self._seq:
                self.dropped += 1
                return False
            self._error = error
            self._cancelled = None
            self._published(value)
            with self.hold_sync():  # the view gets the result and "idle" in one message
                self.result = payload
                if self._ready:
                    self._export()
                done, total = request.units
                self._set_activity("idle", request, done, total, elapsed)
            return True

    def _publish_preliminary(self, request: Request, fields: dict[str, Any]) -> bool:
        """Show a coarse result of ``request`` while it goes on computing (progressive results).

        Same envelope and controls as the final result, plus ``"preliminary": True``; only the newest, not
        cancelled request publishes one, so staleness holds across refinements. The activity stays
        "computing" and the Python-side value (e.g. ``w.attribution``) is only ever the final one.
        """
        with self._sync_lock:
            if request.seq != self._seq or request.cancel.is_set():
                return False
            if self.result is None or not self.result.get("preliminary"):
                self._final_result = self.result  # what a cancel of this request puts back
            self.result = {
                "seq": request.seq,
                "controls": dict(request.controls),
                **request.controls,
                **fields,
                "error": None,
                "preliminary": True,
            }
            return True

    def _mark_cancelled(self, request: Request, elapsed: float) -> None:
        with self._sync_lock:
            if request.seq != self._seq:
                self.dropped += 1
                return
            self._cancelled = request
            with self.hold_sync():
                shown = self.result
                if shown is not None and shown.get("preliminary") and shown["seq"] == request.seq:
                    # The cancelled request's coarse result goes: the last final one is what stays.
                    self.set_trait("result", self._final_result)  # may be None: nothing final yet
                self._set_activity("cancelled", request, elapsed_s=elapsed, message="cancelled")

    # -- the browser's changes, messages and rejected values
    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply a state update from the view (on the shell thread)."""
        with self._sync_lock:
            seq_before = self._seq
            self._frontend_depth += 1
            try:
                super().set_state(sync_data)
            except TraitError as exc:
                # traitlets rolled the change back; put the view's controls back too and say why.
                self.notice = describe_error(exc)
                self._error = exc
                self.send_state([key for key in sync_data if key in self.keys])
                log.warning("%s: rejected a change from the view: %s", type(self).__name__, exc)
            finally:
                self._frontend_depth -= 1
            if set(self.compute_keys) & sync_data.keys() and self._seq == seq_before:
                # Every compute change the view sends gets an answer, also when it was rejected or did not
                # change the value here (the view waits for a result for its controls).
                self._frontend_depth += 1
                try:
                    self._request(keep_notice=True)
                finally:
                    self._frontend_depth -= 1
        _cells.guard_interrupts()

    def _on_view_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        evaluator = self._evaluator
        if evaluator is not None and isinstance(content, dict) and evaluator.on_view_message(content):
            return
        if kind == "cancel":
            self.cancel()
        elif kind == "recompute":
            self._frontend_depth += 1
            try:
                self._request()
            finally:
                self._frontend_depth -= 1
            _cells.guard_interrupts()

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
        """True while a change made in the browser, or an evaluation it asked for, is still being computed."""
        return not self._worker.idle() or (self._evaluator is not None and not self._evaluator.idle())

    def _wait_workers(self, timeout: float | None) -> bool:
        """Block until every background job of this widget is done; False if ``timeout`` passed first."""
        return self._worker.wait(timeout) and (self._evaluator is None or self._evaluator.wait(timeout))

    def cancel(self) -> None:
        """Stop the computation (and any evaluation) in flight at its next model call.

        The last good result stays on screen.
        """
        with self._sync_lock:
            if self._current is not None:
                self._current.cancel.set()
        if self._evaluator is not None:
            self._evaluator.cancel()

    def recompute(self) -> None:
        """Compute the present controls again (e.g. after a cancel)."""
        self._request()

    def to_dict(self) -> dict[str, Any]:
        """The settings and figures on screen as JSON data (docs/WIDGET_CORE.md, "Settings").

        ``aw.attribute(model, inputs, **w.to_dict()["settings"])`` computes the attribution on screen
        (``"call"`` names the API for the widgets whose result is not one attribute call).
        """
        from ._settings import widget_dict

        return widget_dict(self)

    @classmethod
    def from_dict(cls, model: nn.Module, inputs: Any, d: Mapping[str, Any], **kwargs: Any) -> Any:
        """A new widget on ``model`` and ``inputs`` with the controls of ``d`` (from :meth:`to_dict`).

        Same controls, same result. ``kwargs`` go to the constructor and win over ``d`` (pass again what
        ``d["not_serialised"]`` lists, and e.g. ``labels=``).

        Raises:
            ValueError: ``d`` comes from another widget class or settings version, or names unknown controls.
        """
        from ._settings import replay

        return replay(cls, model, inputs, d, kwargs)

    def save(self, path: str | Path, timeout: float | None = 60.0, *, scale: int = 1) -> Path:
        """Write the widget to ``path`` by its suffix, once a running computation is done (as :meth:`wait`).

        ".json": :meth:`to_dict`; ".html": one self-contained page showing this view offline (no kernel, no
        network); ".png" / ".svg": the figure as an image, a ".png" at ``scale`` times the view's size (2: the
        resolution of the view's own Export menu). Returns the path written. A failed or cancelled request is
        saved as the view shows it (its error, or the last good result).

        Raises:
            ValueError: ``path`` has another suffix, or ``scale`` is not a positive integer.
            TimeoutError: the computation did not finish within ``timeout`` seconds.
        """
        from ._save import save

        if not self._wait_workers(timeout):
            raise TimeoutError(f"{type(self).__name__}: still computing after {timeout} s; not saved.")
        return save(self, Path(path), scale=scale)

    def wait(self, timeout: float | None = 60.0) -> None:
        """Block until the browser's changes are computed; raise the newest request's error, if any.

        Raises:
            TimeoutError: the computation did not finish within ``timeout`` seconds.
            Cancelled: the newest request was cancelled.
        """
        if not self._worker.wait(timeout):
            raise TimeoutError(f"{type(self).__name__}: still computing after {timeout} s.")
        if self._cancelled is not None:
            raise Cancelled(f"{type(self).__name__}: request {self._cancelled.seq} was cancelled.")
        if self._error is not None:
            raise self._error
