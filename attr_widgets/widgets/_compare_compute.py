"""The request of a CompareWidget: every method in turn, fast ones first, each map published at once.

A partial result answers the same controls as the final one and only the newest request publishes any, so
the widget core's one staleness rule holds; per-method progress travels in ``method_states`` (small JSON),
so a progress tick never resends a map. docs/COMPARE.md has the choices.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import traitlets
from torch import nn

from attr_widgets.attribution import Attribution, attribute

from ._base import ComputeWidget
from ._compare_agreement import agreement_matrix
from ._compare_methods import MethodPlan, compute_order
from ._requests import PROGRESS_INTERVAL_S, Cancelled, Progress, Request, describe_error
from ._serialize import binary_array, channel_sum
from ._traits import BoundedInt

UNITS_PER_METHOD = 1000  # the overall progress bar: each method is one equal share
PROGRESS_WORTH_MS = 100.0  # a method measured faster than this computes without progress reports


class MethodsRequest(ComputeWidget):
    """The compute protocol of CompareWidget; the subclass holds controls, construction and public API."""

    # Progress of the newest request per method: {seq, states: {method: {state, done, total, elapsed_ms,
    # error}}}.
    method_states = traitlets.Dict().tag(sync=True)
    # The agreement matrices for the maps of result `seq` (the `agreement` property without the number).
    agreement_state = traitlets.Dict().tag(sync=True)
    # How many top features the top-k agreement compares (view-only: changing it recomputes no map).
    k = BoundedInt(7, 1, 2**31 - 1).tag(sync=True)

    # Set by the subclass before the first request.
    _model: nn.Module
    _x: torch.Tensor
    _output: Any
    _internal_batch_size: int | str | None
    _plans: list[MethodPlan]
    _probs: np.ndarray
    _measured_ms: dict[str, float]
    _maps: dict[str, np.ndarray]
    _attributions: dict[str, Attribution]
    _method_errors: dict[str, str]
    _shown_seq: int

    _kind: str

    def _to_map(self, values: torch.Tensor) -> np.ndarray:
        """The values drawn: an image's attribution summed over channels ``[H, W]``; a row's ``[F]``."""
        if self._kind == "tabular":
            return values.detach().to("cpu", torch.float64).reshape(-1).to(torch.float32).numpy()
        return channel_sum(values)

    @property
    def method_names(self) -> list[str]:
        """The compared methods, in the grid's order."""
        return [plan.name for plan in self._plans]

    # -- the compute protocol (see _base.ComputeWidget)
    def _compute(self, request: Request, progress: Progress) -> tuple[dict[str, Any], dict[str, Any]]:
        start = time.perf_counter()
        order = compute_order(self._plans, self._measured_ms, self._x, request["n_steps"])
        states = {plan.name: _state("queued") for plan in self._plans}
        maps: dict[str, np.ndarray] = {}
        attributions: dict[str, Attribution] = {}
        errors: dict[str, str] = {}
        exceptions: list[Exception] = []
        method_ms: dict[str, float] = {}
        self._send_states(request, states)
        for i, plan in enumerate(order):
            states[plan.name] = _state("computing")
            self._send_states(request, states)
            began = time.perf_counter()
            try:
                # The overall bar, and a cancel check between methods (it raises Cancelled when asked).
                progress(i * UNITS_PER_METHOD, len(order) * UNITS_PER_METHOD)
                # Progress inside a method costs the engine time on every model call: only methods that took
                # long last time (or never ran) report it; the others finish before a bar would show.
                reports = self._measured_ms.get(plan.name, math.inf) >= PROGRESS_WORTH_MS
                method_progress = (
                    self._method_progress(request, progress, plan, states, i, len(order)) if reports else None
                )
                attribution = self._attribute(request, plan, method_progress)
            except Cancelled:
                for name, state in states.items():
                    if state["state"] in ("queued", "computing"):
                        states[name] = _state("cancelled")
                self._send_states(request, states)
                raise
            except Exception as exc:
                exceptions.append(exc)
                errors[plan.name] = describe_error(exc)
                states[plan.name] = {**_state("error"), "error": errors[plan.name]}
            else:
                attributions[plan.name] = attribution
                maps[plan.name] = self._to_map(attribution.values)
                states[plan.name] = {**_state("done"), "done": 1, "total": 1}
            method_ms[plan.name] = (time.perf_counter() - began) * 1000
            states[plan.name]["elapsed_ms"] = method_ms[plan.name]
            if i < len(order) - 1:
                new = [plan.name] if plan.name in maps else []
                self._publish_partial(request, maps, new, attributions, errors, states, method_ms, start)
        self._measured_ms.update({name: ms for name, ms in method_ms.items() if name not in errors})
        if exceptions and not maps:
            raise exceptions[0]
        if errors and self._frontend_depth == 0 and self._ready:
            warnings.warn(f"CompareWidget: {len(errors)} method(s) failed: {errors}", stacklevel=4)
        fields = self._fields(request, maps, errors, method_ms, start, complete=True)
        return fields, {"maps": maps, "attributions": attributions, "errors": errors, "states": states}

    def _attribute(self, request: Request, plan: MethodPlan, progress: Progress | None) -> Attribution:
        options = dict(plan.kwargs)
        return attribute(
            self._model,
            self._x,
            method=plan.name,
            target=request["target"],
            baseline=request["baseline"],
            n_steps=request["n_steps"],
            output=self._output,
            internal_batch_size=self._internal_batch_size,
            progress=progress,
            **options,
        )

    def _method_progress(
        self,
        request: Request,
        overall: Progress,
        plan: MethodPlan,
        states: dict[str, dict[str, Any]],
        index: int,
        count: int,
    ) -> Progress:
        """Progress of one method: its own state (throttled) and its share of the overall bar."""
        last = [0.0]

        def report(done: int, total: int) -> None:
            share = UNITS_PER_METHOD * done // max(total, 1)
            overall(index * UNITS_PER_METHOD + min(share, UNITS_PER_METHOD), count * UNITS_PER_METHOD)
            now = time.perf_counter()
            if now - last[0] < PROGRESS_INTERVAL_S and done < total:
                return
            last[0] = now
            states[plan.name] = {**states[plan.name], "done": int(done), "total": int(total)}
            self._send_states(request, states)

        return report

    def _fields(
        self,
        request: Request,
        maps: Mapping[str, np.ndarray],
        errors: Mapping[str, str],
        method_ms: Mapping[str, float],
        start: float,
        *,
        complete: bool,
        send: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """The payload; ``send``: the maps that travel (a partial result sends only the new one), else all."""
        sent = self.method_names if send is None else send
        return {
            "maps": {name: binary_array(maps[name]) for name in sent if name in maps},
            "finished": [name for name in self.method_names if name in maps],
            "errors": dict(errors),
            "method_ms": dict(method_ms),
            "complete": complete,
            "target_prob": float(self._probs[request["target"]]),
            "elapsed_ms": (time.perf_counter() - start) * 1000,
        }

    def _failure_fields(self, request: Request) -> dict[str, Any]:
        return {
            "maps": {},
            "finished": [],
            "errors": {},
            "method_ms": {},
            "complete": True,
            "target_prob": float(self._probs[request["target"]]),
        }

    def _send_states(self, request: Request, states: Mapping[str, dict[str, Any]]) -> None:
        if not self._ready:
            return
        with self._sync_lock:
            if request.seq == self._seq:
                self.method_states = {"seq": request.seq, "states": {n: dict(s) for n, s in states.items()}}

    def _publish_partial(
        self,
        request: Request,
        maps: dict[str, np.ndarray],
        new: Sequence[str],
        attributions: dict[str, Attribution],
        errors: dict[str, str],
        states: Mapping[str, dict[str, Any]],
        method_ms: Mapping[str, float],
        start: float,
    ) -> None:
        """Show the maps finished so far (same controls as the final result; only for the newest request).

        Only the ``new`` map travels: the view keeps the earlier maps of the same request (``finished`` names
        them all), so a request of N methods sends 2N − 1 maps instead of N(N + 1)/2; the complete result
        carries every map, for a view rendered later.
        """
        if not self._ready:
            return
        with self._sync_lock:
            if request.seq != self._seq or request.cancel.is_set():
                return
            payload = {
                "seq": request.seq,
                "controls": dict(request.controls),
                **request.controls,
                **self._fields(request, maps, errors, method_ms, start, complete=False, send=new),
                "error": None,
            }
            self._keep({"maps": dict(maps), "attributions": dict(attributions), "errors": dict(errors)})
            with self.hold_sync():
                self.result = payload
                self.method_states = {"seq": request.seq, "states": {n: dict(s) for n, s in states.items()}}
                self._shown_seq = request.seq
                self._update_agreement()

    def _published(self, value: Any) -> None:
        self._keep(value)
        self._shown_seq = self._seq
        if value is not None:
            self.method_states = {"seq": self._seq, "states": value["states"]}
        self._update_agreement()

    def _keep(self, value: Mapping[str, Any] | None) -> None:
        value = value or {}
        self._maps = dict(value.get("maps", {}))
        self._attributions = dict(value.get("attributions", {}))
        self._method_errors = dict(value.get("errors", {}))

    def _update_agreement(self) -> None:
        self.agreement_state = {
            "seq": self._shown_seq,
            **agreement_matrix(self._maps, self.method_names, self.k),
        }


def _state(state: str) -> dict[str, Any]:
    return {"state": state, "done": 0, "total": 0, "elapsed_ms": 0.0, "error": None}
