"""The result of an attribution: tensors plus every setting that produced them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ._validation import plain

_EPS = 1e-12


def _shape(values: Any) -> list[int] | list[list[int]]:
    if isinstance(values, tuple):
        return [list(part.shape) for part in values]
    return list(values.shape)


@dataclass(frozen=True)
class Attribution:
    """An attribution of ``outputs`` to the inputs (or to a layer's activations).

    Attributes:
        values: input-shaped (or layer-shaped with ``layer=``) attributions, detached, on the model's device.
            A layer whose output is a tuple with several floating-point tensors gives a tuple of tensors, one
            per tensor in the order of the output (as Captum does; non-tensor entries such as ``None`` are
            skipped); a layer output with one tensor (a tensor, or a tuple holding one) gives that tensor.
            ``delta`` then sums over every tensor of the tuple. A tuple of inputs (a multi-input model) gives
            a tuple shaped like the inputs, and ``delta`` sums over all of them.
        delta: ``Σ values − (f(x) − f(baseline))`` per example for methods with a completeness property,
            else None.
        outputs: the target score ``f(x)`` per example.
        baseline_outputs: ``f(baseline)`` per example where the method has a baseline, else None.
        method: the method name.
        target: LongTensor ``[B]`` of classes, or the callable that scored the output.
        baseline: the baseline's name ("zeros", "blur", ...) or "tensor"; None for methods without one.
        n_steps: steps of the final quadrature rule (max over the batch with ``n_steps="auto"``), else None.
        integration: the quadrature rule for path methods, else None.
        layer: dotted name of the attributed layer, or None.
        settings: the remaining settings (method options, output selector, ...), plain data.
        info: extra results: ``steps`` / ``evaluations`` per example for path methods, ``attention`` maps, ...
    """

    # A tuple of tensors for a tuple-valued layer (see above); annotated as the common case, so that code
    # attributing inputs or single-tensor layers needs no narrowing.
    values: torch.Tensor
    delta: torch.Tensor | None
    outputs: torch.Tensor
    baseline_outputs: torch.Tensor | None
    method: str
    target: torch.Tensor | Callable[[torch.Tensor], torch.Tensor]
    baseline: str | None = None
    n_steps: int | None = None
    integration: str | None = None
    layer: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def relative_delta(self) -> torch.Tensor | None:
        """``|delta| / max(|f(x) − f(baseline)|, eps)`` per example, or None without a delta."""
        if self.delta is None or self.baseline_outputs is None:
            return None
        gap = (self.outputs - self.baseline_outputs).abs().clamp_min(_EPS)
        return self.delta.abs() / gap

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-able) with every setting needed to reproduce this attribution, plus its summary.

        The values themselves are not included (they are large; serialize ``values`` as a binary buffer).
        """
        result: dict[str, Any] = {
            "method": self.method,
            "target": plain(self.target),
            "baseline": self.baseline,
            "n_steps": self.n_steps,
            "integration": self.integration,
            "layer": self.layer,
            **{key: plain(value) for key, value in self.settings.items()},
            "shape": _shape(self.values),
            "outputs": plain(self.outputs),
            "baseline_outputs": plain(self.baseline_outputs),
            "delta": plain(self.delta),
        }
        for key in ("steps", "evaluations"):
            if key in self.info:
                result[key] = plain(self.info[key])
        return result
