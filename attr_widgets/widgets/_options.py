"""The choices the image widget offers: methods (with display names), baselines and sign modes."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from attr_widgets.attribution import methods as available_methods

# Methods that work on any image classifier without extra options, in the order the selector lists them.
DEFAULT_METHODS = (
    "saliency",
    "input_x_gradient",
    "integrated_gradients",
    "smoothgrad",
    "gradient_shap",
    "deeplift",
    "guided_backprop",
)

METHOD_LABELS = {
    "saliency": "Saliency (gradient)",
    "input_x_gradient": "Input × Gradient",
    "integrated_gradients": "Integrated Gradients",
    "smoothgrad": "SmoothGrad",
    "gradient_shap": "GradientSHAP",
    "deeplift": "DeepLIFT",
    "deeplift_shap": "DeepLIFT SHAP",
    "guided_backprop": "Guided Backprop",
    "deconvolution": "Deconvolution",
    "x_gradient": "X-Gradient",
    "occlusion": "Occlusion",
    "feature_ablation": "Feature Ablation",
}

BASELINES = (("zeros", "Zeros"), ("blur", "Blurred"), ("uniform", "Uniform noise"))
# Baselines a method cannot use: GradientSHAP and DeepLIFT-SHAP sample from a distribution of baselines, and a
# blurred copy of the input is one baseline per example (the engine rejects the pair), so it is never offered.
UNSUPPORTED_BASELINES = {"gradient_shap": {"blur"}, "deeplift_shap": {"blur"}}
SIGN_MODES = (
    ("positive", "Positive"),
    ("negative", "Negative"),
    ("absolute", "Absolute"),
    ("signed", "Signed"),
)


def method_choices(requested: Sequence[str] | None) -> list[dict[str, Any]]:
    """The method selector's entries: ``requested`` (default: :data:`DEFAULT_METHODS` that exist), checked."""
    infos = {str(info): info for info in available_methods()}
    if requested is None:
        names = [name for name in DEFAULT_METHODS if name in infos]
    else:
        if isinstance(requested, str) or not isinstance(requested, Sequence) or not requested:
            raise TypeError(f"methods must be a non-empty list of method names, got {requested!r}.")
        names = list(dict.fromkeys(requested))
        for name in names:
            if name not in infos:
                close = difflib.get_close_matches(str(name), list(infos), n=1, cutoff=0.5)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"methods: {name!r} is not a known method.{hint} Known: {', '.join(infos)}.")
            if getattr(infos[name], "needs_layer", False):
                raise ValueError(f"methods: {name!r} needs layer=, which AttributionWidget does not offer.")
    return [
        {
            "value": name,
            "label": METHOD_LABELS.get(name, name.replace("_", " ").title()),
            "uses_baseline": bool(getattr(infos[name], "uses_baseline", False)),
            "baselines": [b for b, _ in BASELINES if b not in UNSUPPORTED_BASELINES.get(name, ())],
            "uses_steps": infos[name].uses_steps,
            "completeness": bool(getattr(infos[name], "has_delta", False)),
        }
        for name in names
    ]


def choice_list(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """``[(value, label)]`` as the view's ``{value, label}`` entries."""
    return [{"value": value, "label": label} for value, label in pairs]
