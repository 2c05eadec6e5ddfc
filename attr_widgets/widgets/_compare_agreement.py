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
    """Ranks 1..n of ``values``, ties sharing the mean of their ranks (Spearman's convention), vectorised."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])  # first position of each run of equals
    counts = np.diff(np.r_[starts, len(values)])
    mean_rank = starts + (counts + 1) / 2.0  # the run covers ranks starts+1 .. starts+counts
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, counts)
    return ranks


def _magnitude_ranks(values: np.ndarray) -> np.ndarray:
    return _ranks(np.abs(np.asarray(values, dtype=np.float64)).ravel())


def _correlation_of_ranks(ra: np.ndarray, rb: np.ndarray) -> float | None:
    if ra.shape != rb.shape:
        raise ValueError(f"rank_correlation needs maps of one size, got {ra.shape} and {rb.shape}.")
    da, db = ra - ra.mean(), rb - rb.mean()
    denominator = math.sqrt(float(da @ da) * float(db @ db))
    if denominator == 0.0:
        return None
    return float(da @ db) / denominator


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rho of |a| and |b| (flattened); None when either ranking is constant (rho undefined)."""
    return _correlation_of_ranks(_magnitude_ranks(a), _magnitude_ranks(b))


def top_k_features(values: np.ndarray, k: int) -> set[int]:
    """Indices of the k largest |values| (flattened), the lower index first among equals."""
    flat = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    return {int(i) for i in np.argsort(-flat, kind="stable")[:k]}


def top_k_agreement(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Fraction of the top-k features by |value| that ``a`` and ``b`` share (OpenXAI's feature agreement)."""
    return len(top_k_features(a, k) & top_k_features(b, k)) / k


def agreement_matrix(maps: Mapping[str, np.ndarray | None], methods: Sequence[str], k: int) -> dict[str, Any]:
    """``{"methods", "spearman", "topk", "k"}``: method × method matrices; None where a map is missing.

    Each map is ranked once and each unordered pair computed once (both matrices are symmetric).
    """
    present = {name: maps[name] for name in methods if maps.get(name) is not None}
    ranks = {name: _magnitude_ranks(m) for name, m in present.items()}  # type: ignore[arg-type]
    tops = {name: top_k_features(m, k) for name, m in present.items()}  # type: ignore[arg-type]
    n = len(methods)
    spearman: list[list[float | None]] = [[None] * n for _ in range(n)]
    topk: list[list[float | None]] = [[None] * n for _ in range(n)]
    for i, row in enumerate(methods):
        for j in range(i, n):
            col = methods[j]
            if row in present and col in present:
                rho = _correlation_of_ranks(ranks[row], ranks[col])
                shared = len(tops[row] & tops[col]) / k
                spearman[i][j] = spearman[j][i] = rho
                topk[i][j] = topk[j][i] = shared
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
