"""How far the compared maps agree, and the colour extent they share: computed over the maps as shown.

The maps are the heatmaps on screen (the attribution summed over channels: one value per pixel). Both
agreement measures rank features by magnitude, as OpenXAI does (Agarwal et al., "OpenXAI: Towards a
Transparent Evaluation of Model Explanations", 2022, after Krishna et al., "The Disagreement Problem in
Explainable Machine Learning: A Practitioner's Perspective", 2022):

- rank correlation: Spearman's rho between the two rankings of |value| (ties share their mean rank);
- feature agreement: the fraction of the top-k features by |value| that the two maps have in common
  (ties broken by feature index, so the sets are well defined).

The extent is the view's rule (js/src/core/colorscale.ts ``scaleExtent`` / ``sharedExtent``), mirrored here
so that ``CompareWidget.scale`` is the number the legend shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values``, ties sharing the mean of their ranks (Spearman's convention)."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    start = 0
    while start < len(values):
        stop = start + 1
        while stop < len(values) and sorted_values[stop] == sorted_values[start]:
            stop += 1
        ranks[order[start:stop]] = (start + stop + 1) / 2.0  # mean of ranks start+1 .. stop
        start = stop
    return ranks


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rho of |a| and |b| (flattened); None when either ranking is constant (rho undefined)."""
    ra = _ranks(np.abs(np.asarray(a, dtype=np.float64)).ravel())
    rb = _ranks(np.abs(np.asarray(b, dtype=np.float64)).ravel())
    if ra.shape != rb.shape:
        raise ValueError(f"rank_correlation needs maps of one size, got {ra.shape} and {rb.shape}.")
    da, db = ra - ra.mean(), rb - rb.mean()
    denominator = math.sqrt(float(da @ da) * float(db @ db))
    if denominator == 0.0:
        return None
    return float(da @ db) / denominator


def top_k_features(values: np.ndarray, k: int) -> set[int]:
    """Indices of the k largest |values| (flattened), the lower index first among equals."""
    flat = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    return {int(i) for i in np.argsort(-flat, kind="stable")[:k]}


def top_k_agreement(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Fraction of the top-k features by |value| that ``a`` and ``b`` share (OpenXAI's feature agreement)."""
    return len(top_k_features(a, k) & top_k_features(b, k)) / k


def agreement_matrix(maps: Mapping[str, np.ndarray | None], methods: Sequence[str], k: int) -> dict[str, Any]:
    """``{"methods", "spearman", "topk", "k"}``: method × method matrices; None where a map is missing."""
    spearman: list[list[float | None]] = []
    topk: list[list[float | None]] = []
    for row in methods:
        s_row: list[float | None] = []
        t_row: list[float | None] = []
        for col in methods:
            a, b = maps.get(row), maps.get(col)
            if a is None or b is None:
                s_row.append(None)
                t_row.append(None)
            else:
                s_row.append(rank_correlation(a, b))
                t_row.append(top_k_agreement(a, b, k))
        spearman.append(s_row)
        topk.append(t_row)
    return {"methods": list(methods), "spearman": spearman, "topk": topk, "k": int(k)}


def _magnitudes(values: np.ndarray, mode: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32).ravel()
    if mode == "positive":
        return np.where(v > 0, v, 0)
    if mode == "negative":
        return np.where(v < 0, -v, 0)
    return np.abs(v)


def scale_extent(arrays: Sequence[np.ndarray], mode: str, outlier_percent: float) -> float:
    """The view's colour extent over ``arrays`` pooled.

    The (100 − outlier_percent)th percentile of the non-zero magnitudes the sign mode shows (the maximum at
    0 %), 0 when there are none.
    """
    if not arrays:
        return 0.0
    mags = np.concatenate([_magnitudes(a, mode) for a in arrays])
    mags = np.sort(mags[(mags > 0) & np.isfinite(mags)])
    if len(mags) == 0:
        return 0.0
    q = min(100.0, max(0.0, 100.0 - outlier_percent)) / 100.0
    index = min(len(mags) - 1, max(0, math.ceil(q * len(mags)) - 1))
    return float(mags[index])
