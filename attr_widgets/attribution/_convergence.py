"""Completeness error as a function of the number of steps, per integration rule (data for a chart)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ._api import attribute
from ._quadrature import RULES, min_steps

DEFAULT_STEPS = (2, 4, 8, 16, 32, 64, 128)


def convergence(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    method: str = "integrated_gradients",
    rules: Sequence[str] = RULES,
    steps: Sequence[int] = DEFAULT_STEPS,
    **attribute_kwargs: Any,
) -> dict[str, dict[str, list[float]]]:
    """``{rule: {"n_steps": [...], "delta": [...], "relative_delta": [...]}}``, worst over the batch.

    One attribution per (rule, n) with the given ``attribute`` settings (target, baseline, layer, ...);
    steps below a rule's minimum are skipped. Plain lists, ready for a chart.
    """
    if method not in ("integrated_gradients", "layer_integrated_gradients"):
        raise ValueError(
            f"method={method!r}: convergence is defined for path methods with a quadrature rule."
        )
    for name in ("n_steps", "integration"):
        if name in attribute_kwargs:
            raise TypeError(f"convergence() sweeps {name} itself; do not pass {name}=.")
    curves: dict[str, dict[str, list[float]]] = {}
    for rule in rules:
        usable = [int(n) for n in steps if int(n) >= min_steps(rule)]
        curve: dict[str, list[float]] = {"n_steps": [], "delta": [], "relative_delta": []}
        for n in usable:
            result = attribute(model, inputs, method=method, n_steps=n, integration=rule, **attribute_kwargs)
            assert result.delta is not None and result.relative_delta is not None
            curve["n_steps"].append(n)
            curve["delta"].append(float(result.delta.abs().max()))
            curve["relative_delta"].append(float(result.relative_delta.max()))
        curves[rule] = curve
    return curves
