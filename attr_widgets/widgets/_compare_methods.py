"""Which methods a CompareWidget can put side by side, with what options, and in which order to compute them.

Every map of the grid is drawn over the input image, so a method must give input-shaped values: the
gradient, path and perturbation methods do, Grad-CAM does once upsampled (its ``interpolate=True`` default,
Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization", 2017);
the other layer and neuron methods give layer-shaped values and are refused with the reason.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from attr_widgets.attribution import methods as available_methods

from ._options import METHOD_LABELS, UNSUPPORTED_BASELINES

DEFAULT_COMPARE_METHODS = ("saliency", "integrated_gradients", "smoothgrad", "grad_cam", "occlusion")
# One row of a table: no convolution for Grad-CAM, and ablation is occlusion's per-feature form.
DEFAULT_TABULAR_METHODS = (
    "saliency",
    "input_x_gradient",
    "integrated_gradients",
    "gradient_shap",
    "feature_ablation",
)
# Layer methods whose values come back input-shaped (upsampled) and so can share the image grid.
INPUT_SHAPED_LAYER_METHODS = ("grad_cam",)
# Methods that only make sense on token models.
TOKEN_ONLY_METHODS = ("attention", "layer_integrated_gradients")

METHOD_LABELS_EXTRA = {"grad_cam": "Grad-CAM", "smoothgrad_sq": "SmoothGrad²", "vargrad": "VarGrad"}
# For the agreement matrix's headers and the hover readout, where five full names do not fit.
SHORT_LABELS = {
    "saliency": "Saliency",
    "input_x_gradient": "Input×Grad",
    "x_gradient": "X-Grad",
    "integrated_gradients": "IG",
    "smoothgrad": "SmoothGrad",
    "gradient_shap": "GradSHAP",
    "deeplift": "DeepLIFT",
    "deeplift_shap": "DeepSHAP",
    "guided_backprop": "Guided BP",
    "deconvolution": "Deconv",
    "grad_cam": "Grad-CAM",
    "occlusion": "Occlusion",
    "feature_ablation": "Ablation",
}


@dataclass(frozen=True)
class MethodPlan:
    """One map of the grid: the method, the keyword arguments it is called with, its display name."""

    name: str
    label: str
    short: str
    detail: str = ""
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    uses_baseline: bool = False
    uses_steps: bool = False


def last_conv(model: nn.Module) -> str | None:
    """Dotted name of the model's last ``Conv2d`` (Grad-CAM's usual layer), or None."""
    name = None
    for module_name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            name = module_name
    return name


def plan_methods(
    requested: object,
    model: nn.Module,
    *,
    layer: str | nn.Module | None = None,
    method_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[MethodPlan]:
    """Check ``methods=`` and turn it into one :class:`MethodPlan` per map, in the user's order.

    Raises:
        TypeError: ``methods`` is not a list of names, or ``method_options`` is not a dict of dicts.
        ValueError: an empty list, an unknown name (with the nearest one), a method whose values are not
            input-shaped, or Grad-CAM on a model without a convolution and without ``layer=``.
    """
    if isinstance(requested, str) or not isinstance(requested, Sequence):
        raise TypeError(
            f"methods must be a list of method names such as {list(DEFAULT_COMPARE_METHODS)}, "
            f"got {requested!r}."
        )
    if len(requested) == 0:
        raise ValueError(
            "methods is empty: pass at least one method name, "
            "e.g. methods=('saliency', 'integrated_gradients')."
        )
    infos = {str(info): info for info in available_methods()}
    names: list[str] = []
    for name in requested:
        if not isinstance(name, str):
            raise TypeError(f"methods: every entry must be a method name (str), got {name!r}.")
        if name not in infos:
            close = difflib.get_close_matches(name, list(infos), n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"methods: {name!r} is not a known method.{hint} Known: {', '.join(infos)}.")
        if name in names:
            raise ValueError(f"methods: {name!r} is listed twice; each method gets one map.")
        names.append(name)
    options = _check_method_options(method_options, names)
    plans = []
    for name in names:
        info = infos[name]
        kwargs: dict[str, Any] = dict(options.get(name, {}))
        if name in TOKEN_ONLY_METHODS:
            raise ValueError(
                f"methods: {name!r} explains token models; CompareWidget compares maps over an image."
            )
        if info.needs_layer:
            if name not in INPUT_SHAPED_LAYER_METHODS:
                raise ValueError(
                    f"methods: {name!r} gives layer-shaped values, which cannot be drawn over the input "
                    "image; "
                    f"of the layer methods CompareWidget shows {', '.join(INPUT_SHAPED_LAYER_METHODS)} "
                    "(upsampled to the input)."
                )
            chosen = kwargs.get("layer", layer)
            if chosen is None:
                chosen = last_conv(model)
                if chosen is None:
                    raise ValueError(
                        f"methods: {name!r} needs a convolutional layer and the model has no Conv2d to "
                        "default to; pass layer='<module name>' (one of model.named_modules())."
                    )
            kwargs["layer"] = chosen
        label = METHOD_LABELS.get(name) or METHOD_LABELS_EXTRA.get(name) or name.replace("_", " ").title()
        detail = ""
        if name == "grad_cam":
            chosen_layer = kwargs["layer"]
            detail = (
                f"layer {chosen_layer}"
                if isinstance(chosen_layer, str)
                else f"layer {type(chosen_layer).__name__}"
            )
        plans.append(
            MethodPlan(
                name,
                label,
                SHORT_LABELS.get(name, label),
                detail,
                kwargs,
                bool(info.uses_baseline),
                bool(getattr(info, "uses_steps", False)),
            )
        )
    return plans


def _check_method_options(
    method_options: Mapping[str, Mapping[str, Any]] | None, names: Sequence[str]
) -> Mapping[str, Mapping[str, Any]]:
    if method_options is None:
        return {}
    if not isinstance(method_options, Mapping) or not all(
        isinstance(v, Mapping) for v in method_options.values()
    ):
        raise TypeError(
            "method_options must be a dict {method name: {option: value}}, e.g. "
            f"{{'occlusion': {{'sliding_window_shapes': (1, 2, 2)}}}}; got {method_options!r}."
        )
    for name in method_options:
        if name not in names:
            raise ValueError(f"method_options: {name!r} is not one of methods= ({', '.join(names)}).")
    return method_options


def baselines_for(plans: Sequence[MethodPlan], baselines: Sequence[str]) -> list[str]:
    """The baselines every compared method that uses one can take (e.g. no "blur" next to GradientSHAP)."""
    refused: set[str] = set()
    for plan in plans:
        if plan.uses_baseline:
            refused |= set(UNSUPPORTED_BASELINES.get(plan.name, ()))
    return [b for b in baselines if b not in refused]


def estimated_cost(plan: MethodPlan, inputs: torch.Tensor, n_steps: int) -> float:
    """Model evaluations the method needs on one example (its order before anything was measured)."""
    options = plan.kwargs
    if plan.name == "integrated_gradients":
        return float(n_steps + 2)
    if plan.name in ("smoothgrad", "smoothgrad_sq", "vargrad"):
        return float(options.get("nt_samples", 25))
    if plan.name == "gradient_shap":
        return float(options.get("n_samples", 25))
    example = tuple(inputs.shape[1:])
    if plan.name == "occlusion":
        window = options.get("sliding_window_shapes") or (example[0], *(max(1, s // 8) for s in example[1:]))
        strides = options.get("strides") or window
        strides = strides if isinstance(strides, tuple) else (int(strides),) * len(example)
        return 1.0 + math.prod(
            max(1, (s - w) // st + 1) for s, w, st in zip(example, window, strides, strict=False)
        )
    if plan.name == "feature_ablation":
        return 1.0 + math.prod(example)
    return 1.0  # one forward and backward pass: gradients, Grad-CAM, DeepLIFT


def compute_order(
    plans: Sequence[MethodPlan], measured_ms: Mapping[str, float], inputs: torch.Tensor, n_steps: int
) -> list[MethodPlan]:
    """Fast methods first: by the time measured on the previous request, else by estimated model evaluations.

    A method measured before is placed by its time; one never run yet is placed by its estimated cost
    converted to time at the slowest rate measured so far (so an unmeasured expensive method is not
    assumed fast). Ties keep the user's order.
    """
    rates = [measured_ms[p.name] / estimated_cost(p, inputs, n_steps) for p in plans if p.name in measured_ms]
    rate = max(rates) if rates else 1.0

    def key(item: tuple[int, MethodPlan]) -> tuple[float, int]:
        index, plan = item
        expected = measured_ms.get(plan.name, estimated_cost(plan, inputs, n_steps) * rate)
        return expected, index

    return [plan for _, plan in sorted(enumerate(plans), key=key)]
