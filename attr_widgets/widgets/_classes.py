"""What every classifier widget shows about the classes: names, and the top predictions with probabilities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

TOP_K = 5


def check_labels(labels: object, classes: int) -> list[str]:
    if labels is None:
        return [str(i) for i in range(classes)]
    if isinstance(labels, Mapping):
        return [str(labels.get(i, i)) for i in range(classes)]
    if isinstance(labels, np.ndarray):  # e.g. np.array(names) or a column of class names
        if labels.ndim != 1:
            raise ValueError(f"labels: a numpy array of names must be 1-D, got shape {labels.shape}.")
        labels = labels.tolist()
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise TypeError(
            f"labels must be a sequence of class names or a dict {{index: name}}, got {labels!r}."
        )
    if len(labels) != classes:
        raise ValueError(f"labels has {len(labels)} names but the model has {classes} classes.")
    return [str(name) for name in labels]


def top_k_entries(
    probs: np.ndarray, order: np.ndarray, names: Sequence[str], k: int = TOP_K
) -> list[dict[str, Any]]:
    """The view's top-k list: ``{index, label, prob}`` for the classes in ``order`` (most probable first)."""
    return [{"index": int(i), "label": names[int(i)], "prob": float(probs[int(i)])} for i in order[:k]]
