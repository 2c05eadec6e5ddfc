"""What the tabular widget checks and offers: one row of float features, their names, the data for the mean.

Checks name the argument at fault (``inputs``, ``feature_names``, ``data``) and say how to fix it, before any
model call, so a wrong table never surfaces as a shape error deep inside the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from attr_widgets.attribution._registry import specs

from ._options import METHOD_LABELS

# The engine's methods that take a float [B, F] batch without a layer, in the order the selector lists them;
# each with the baselines it can use (GradientSHAP samples around the baseline, so it takes either one too).
TABULAR_METHODS = (
    ("saliency", ()),
    ("input_x_gradient", ()),
    ("integrated_gradients", ("zeros", "mean")),
    ("gradient_shap", ("zeros", "mean")),
    ("deeplift", ("zeros", "mean")),
    ("feature_ablation", ("zeros", "mean")),
)
TABULAR_BASELINES = (("zeros", "Zeros"), ("mean", "Dataset mean"))
# A bar chart has a sign axis of its own: "signed" (diverging, centred at zero) or "absolute" (magnitudes).
TABULAR_SIGN_MODES = (("signed", "Signed"), ("absolute", "Absolute"))


def tabular_method_choices(has_data: bool) -> list[dict[str, Any]]:
    """The selector's methods (those the engine has); "mean" is offered only when ``data=`` was given."""
    registry = specs()
    return [
        {
            "value": name,
            "label": METHOD_LABELS.get(name, name),
            "uses_baseline": bool(baselines),
            "baselines": [b for b in baselines if b != "mean" or has_data],
            "uses_steps": bool(registry[name].path),
            "completeness": bool(registry[name].has_delta),
        }
        for name, baselines in TABULAR_METHODS
        if name in registry
    ]


def _as_float_tensor(value: Any, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
    elif isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"{name} must hold numbers, got a numpy array of Python objects.")
        tensor = torch.from_numpy(np.ascontiguousarray(value))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        array = np.asarray(value)
        if array.dtype.kind not in "fiu":
            raise TypeError(f"{name} must be a list of numbers, got {value!r:.80}.")
        tensor = torch.from_numpy(array.astype(np.float64))
    else:
        raise TypeError(
            f"{name} must be a torch.Tensor or numpy array of features, got {type(value).__name__}."
        )
    if not tensor.is_floating_point():
        raise TypeError(
            f"{name} must be a float tensor (features as real numbers), got dtype {tensor.dtype}; "
            f"convert it with {name}.float() (and standardise the features as the model was trained)."
        )
    bad = int((~torch.isfinite(tensor)).sum())
    if bad:
        raise ValueError(f"{name} contains {bad} NaN or Inf value(s); impute or drop them first.")
    return tensor


def tabular_row(inputs: Any) -> torch.Tensor:
    """``inputs`` as one ``[1, F]`` float row: ``[F]`` gains its batch axis; more rows are rejected."""
    x = _as_float_tensor(inputs, "inputs")
    if x.dim() == 1:
        x = x[None]
    if x.dim() != 2:
        raise ValueError(f"inputs must be one row of features, [F] or [1, F], got shape {tuple(x.shape)}.")
    if x.shape[0] != 1:
        raise ValueError(
            f"inputs must be one row of features, got {x.shape[0]} rows (shape {tuple(x.shape)}); "
            "pass inputs[i] or inputs[i:i+1], and the whole table as data= for the mean baseline."
        )
    if x.shape[1] == 0:
        raise ValueError("inputs has no features (shape [1, 0]).")
    return x


def check_feature_names(names: Any, features: int) -> list[str]:
    """One name per feature (default ``feature 0`` …); a count that does not match the row is an error."""
    if names is None:
        return [f"feature {i}" for i in range(features)]
    if isinstance(names, str) or not isinstance(names, (Sequence, np.ndarray)):
        raise TypeError(f"feature_names must be a list of names, one per feature, got {names!r:.80}.")
    if len(names) != features:
        raise ValueError(
            f"feature_names has {len(names)} names but inputs has {features} features; "
            "pass one name per column, in the model's column order."
        )
    return [str(n) for n in names]


def check_data(data: Any, features: int) -> torch.Tensor | None:
    """The table ``[N, F]`` whose mean row is the "mean" baseline, or None."""
    if data is None:
        return None
    table = _as_float_tensor(data, "data")
    if table.dim() != 2 or table.shape[1] != features or table.shape[0] == 0:
        raise ValueError(
            f"data must be a table [N, {features}] (rows of the same {features} features as inputs), "
            f"got shape {tuple(table.shape)}."
        )
    return table
