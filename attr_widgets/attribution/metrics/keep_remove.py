"""Keep / remove metrics of Hesse et al. (2021), after Lundberg et al.'s benchmark: KPM, KNM, KAM, RAM.

For each fraction ``p`` of features (``fractions``, by default 16 points geometrically spaced from 0.01 to 1,
as in Hesse et al.'s evaluation code), a masked input keeps ``k = min(⌊p·n⌋, n_eligible)`` features and
replaces every other feature with the baseline (Hesse et al. use a strongly blurred image):

- keep positive (KPM, higher is better): keep the ``k`` features with the largest positive attributions; score
  the target logit.
- keep negative (KNM, lower is better): keep the ``k`` most negative ones; score the target logit.
- keep absolute (KAM, higher is better): keep the ``k`` largest ``|attributions|``; score top-1 accuracy.
- remove absolute (RAM, lower is better): keep the ``k`` *smallest* non-zero ``|attributions|``, i.e.
  remove the most important ``n − k``; score top-1 accuracy.

Only features whose ranking score is strictly positive are eligible (so features with zero attribution are
always replaced). The metric is the area under the score-vs-fraction curve (trapezoid rule).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .._outputs import OutputSelector
from .._validation import unknown_name_error
from ._common import Curve, Scorer, apply_mask, check_attributions, check_fractions, curve, ranks, replacement

SORTS = ("positive", "negative", "absolute")
MODES = ("keep", "remove")
HESSE_FRACTIONS = tuple(float(p) for p in np.geomspace(0.01, 1.0, num=16))


def keep_mask(values: torch.Tensor, fraction: float, *, sort: str, mode: str) -> torch.Tensor:
    """``[B, n]`` bool: the features kept at ``fraction`` (see the module docstring)."""
    if sort not in SORTS:
        raise unknown_name_error("sort", sort, SORTS)
    if mode not in MODES:
        raise unknown_name_error("mode", mode, MODES)
    flat = values.flatten(1)
    ranking = {"positive": flat, "negative": -flat, "absolute": flat.abs()}[sort]
    eligible = ranking > 0
    n = flat.shape[1]
    # Truncation as in the reference code (int(p·n)); the tiny factor keeps exact products like 0.25·8 whole.
    k = torch.clamp(eligible.sum(dim=1), max=math.floor(fraction * n * (1 + 1e-9)))
    if mode == "keep":
        order = ranks(torch.where(eligible, ranking, torch.full_like(ranking, -math.inf)))
    else:
        order = ranks(torch.where(eligible, ranking, torch.full_like(ranking, math.inf)), descending=False)
    return eligible & (order < k[:, None])


def keep_remove_curve(
    model: nn.Module,
    inputs: torch.Tensor,
    attributions: Any,
    *,
    sort: str,
    mode: str,
    score: str,
    fractions: Any = HESSE_FRACTIONS,
    target: Any = None,
    baseline: Any = "zeros",
    output: OutputSelector = None,
    **baseline_options: Any,
) -> Curve:
    """The score curve over ``fractions`` for one (sort, mode) pair; see the module docstring.

    Args:
        model: the network (used in its current mode; never modified).
        inputs: a batch ``[B, ...]``.
        attributions: a tensor (or an ``Attribution``) that broadcasts to the inputs; ``[B, 1, H, W]`` ranks
            pixels (Hesse et al. average the attribution over the colour channels first).
        sort: "positive", "negative" or "absolute".
        mode: "keep" (keep the top ``k``) or "remove" (keep the bottom ``k``).
        score: "logit", "probability" or "accuracy".
        fractions: increasing numbers in [0, 1].
        target: class per example (None: the prediction on the unmasked inputs); labels for accuracy.
        baseline: what the replaced features become ("zeros", "blur", a number, a tensor, ...).
        output: output selector, as in ``attribute``.
        **baseline_options: ``data=``, ``blur_sigma=``, ``seed=`` for the named baselines.
    """
    grid = check_fractions(fractions)
    scorer = Scorer(model, inputs, target=target, output=output, score=score)
    x = scorer.inputs
    values = check_attributions(attributions, x)
    fill = replacement(baseline, x, **baseline_options)
    columns = [
        scorer(apply_mask(keep_mask(values, float(p), sort=sort, mode=mode), values, x, fill)) for p in grid
    ]
    return curve(f"{mode}_{sort}", grid, columns, score)


def keep_positive_mask(model: nn.Module, inputs: torch.Tensor, attributions: Any, **kwargs: Any) -> Curve:
    """KPM: keep the most positive features, score the target logit (higher area is better)."""
    return keep_remove_curve(
        model, inputs, attributions, sort="positive", mode="keep", score="logit", **kwargs
    )


def keep_negative_mask(model: nn.Module, inputs: torch.Tensor, attributions: Any, **kwargs: Any) -> Curve:
    """KNM: keep the most negative features, score the target logit (lower area is better)."""
    return keep_remove_curve(
        model, inputs, attributions, sort="negative", mode="keep", score="logit", **kwargs
    )


def keep_absolute_mask(model: nn.Module, inputs: torch.Tensor, attributions: Any, **kwargs: Any) -> Curve:
    """KAM: keep the largest ``|attributions|``, score top-1 accuracy (higher area is better)."""
    return keep_remove_curve(
        model, inputs, attributions, sort="absolute", mode="keep", score="accuracy", **kwargs
    )


def remove_absolute_mask(model: nn.Module, inputs: torch.Tensor, attributions: Any, **kwargs: Any) -> Curve:
    """RAM: remove the largest ``|attributions|``, score top-1 accuracy (lower area is better)."""
    return keep_remove_curve(
        model, inputs, attributions, sort="absolute", mode="remove", score="accuracy", **kwargs
    )
