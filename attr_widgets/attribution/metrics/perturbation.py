"""Deletion and insertion curves (Petsiuk et al., RISE): remove / insert features in attribution order.

Deletion replaces the most important features first with a baseline and watches the target score fall (a
small area is good); insertion starts from the baseline and puts the most important features back first (a
large area is good).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._outputs import OutputSelector
from ._common import (
    Curve,
    Scorer,
    apply_mask,
    check_attributions,
    check_positive_int,
    curve,
    ranks,
    replacement,
)


def _perturbation_curve(
    name: str,
    model: nn.Module,
    inputs: torch.Tensor,
    attributions: Any,
    *,
    target: Any,
    baseline: Any,
    steps: int,
    score: str,
    output: OutputSelector,
    baseline_options: dict[str, Any],
) -> Curve:
    steps = check_positive_int("steps", steps)
    scorer = Scorer(model, inputs, target=target, output=output, score=score)
    x = scorer.inputs
    values = check_attributions(attributions, x)
    fill = replacement(baseline, x, **baseline_options)
    order = ranks(values.flatten(1))  # rank 0 = most important
    features = order.shape[1]
    counts = [round(k * features / steps) for k in range(steps + 1)]
    columns = []
    for count in counts:
        changed = order < count  # the `count` most important features
        keep = ~changed if name == "deletion" else changed
        columns.append(scorer(apply_mask(keep, values, x, fill)))
    fractions = torch.tensor(counts, dtype=torch.float64) / features
    return curve(name, fractions, columns, score)


def deletion_curve(
    model: nn.Module,
    inputs: torch.Tensor,
    attributions: Any,
    *,
    target: Any = None,
    baseline: Any = "zeros",
    steps: int = 20,
    score: str = "probability",
    output: OutputSelector = None,
    **baseline_options: Any,
) -> Curve:
    """Score as the most important features are replaced by ``baseline`` (lower area = better attribution).

    Args:
        model: the network (used in its current mode; never modified).
        inputs: a batch ``[B, ...]``.
        attributions: a tensor (or an ``Attribution``) that broadcasts to the inputs, e.g. ``[B, 1, H, W]`` to
            remove whole pixels; features are removed in decreasing order of attribution (ties by position).
        target: None (the top class of each example), an int, a LongTensor ``[B]``, or a callable (logits).
        baseline: what removed features become: "zeros", "blur", "uniform", "mean" (with ``data=``), a number
            or a tensor that broadcasts to the inputs.
        steps: number of removal steps; the curve has ``steps + 1`` points from 0 to 1.
        score: "probability" (softmax of the target, as in RISE), "logit", or "accuracy".
        output: output selector, as in ``attribute``.
        **baseline_options: ``data=``, ``blur_sigma=``, ``seed=`` for the named baselines.
    """
    return _perturbation_curve(
        "deletion",
        model,
        inputs,
        attributions,
        target=target,
        baseline=baseline,
        steps=steps,
        score=score,
        output=output,
        baseline_options=baseline_options,
    )


def insertion_curve(
    model: nn.Module,
    inputs: torch.Tensor,
    attributions: Any,
    *,
    target: Any = None,
    baseline: Any = "blur",
    steps: int = 20,
    score: str = "probability",
    output: OutputSelector = None,
    **baseline_options: Any,
) -> Curve:
    """Score as the most important features are put back into ``baseline`` (higher area = better).

    Same arguments as :func:`deletion_curve`; the default baseline is a blurred copy of the input (RISE),
    which needs spatial inputs ``[B, C, H, W]`` or ``[B, C, L]``; pass ``baseline="zeros"`` otherwise.
    """
    return _perturbation_curve(
        "insertion",
        model,
        inputs,
        attributions,
        target=target,
        baseline=baseline,
        steps=steps,
        score=score,
        output=output,
        baseline_options=baseline_options,
    )
