"""Which methods cannot give a meaningful result on a given model, each with a one-line reason.

A widget hides these from its method selector (and says why): a method that would only repeat another one
(guided backpropagation without ReLU modules is the plain gradient) or that needs something the model
lacks (attention weights) is not worth a slot in the menu.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from .._torch import model_lock
from ._model_state import preserved_model
from ._outputs import OutputSelector


def _has_relu_modules(model: nn.Module) -> bool:
    return any(isinstance(module, nn.ReLU) for module in model.modules())


def _returns_attentions(model: nn.Module, inputs: torch.Tensor) -> bool:
    try:
        with model_lock(model), preserved_model(model), torch.no_grad():
            raw = model(inputs, output_attentions=True)
    except TypeError:  # forward() takes no output_attentions
        return False
    attentions = raw.get("attentions") if isinstance(raw, dict) else getattr(raw, "attentions", None)
    if not attentions:
        return False
    return all(isinstance(a, torch.Tensor) and a.dim() == 4 for a in attentions)


def unavailable_methods(
    model: nn.Module, inputs: torch.Tensor, names: Iterable[str], *, output: OutputSelector = None
) -> dict[str, str]:
    """``{method: one-line reason}`` for those of ``names`` that cannot run meaningfully on ``model``.

    Runs the model a few times at most (the homogeneity check of X-Gradient, one ``output_attentions``
    call), only for the methods asked about; the model is left untouched.
    """
    from .xdnn import is_homogeneous

    wanted = list(names)
    reasons: dict[str, str] = {}
    relu = _has_relu_modules(model)
    for name in ("guided_backprop", "deconvolution"):
        if name in wanted and not relu:
            reasons[name] = (
                "no nn.ReLU modules (functional or other activations are not overridden): "
                "it would equal the plain gradient."
            )
    if "x_gradient" in wanted:
        with model_lock(model):
            homogeneous = is_homogeneous(model, inputs, output=output)
        if not homogeneous:
            reasons["x_gradient"] = (
                "the model is not nonnegatively homogeneous (F(αx) ≠ αF(x)): X-Gradient would not equal "
                "Integrated Gradients; attr_widgets.xdnn.to_xdnn converts it (Hesse et al., 2021)."
            )
    attention_methods = [name for name in ("attention", "attention_rollout") if name in wanted]
    if attention_methods and not _returns_attentions(model, inputs):
        for name in attention_methods:
            reasons[name] = (
                "the model returns no attention weights with output_attentions=True (Hugging Face "
                "transformers loaded with attn_implementation='eager' do)."
            )
    return reasons


def describe(reasons: dict[str, str], labels: dict[str, Any]) -> list[dict[str, str]]:
    """The view's entries ``{value, label, reason}`` for the hidden methods."""
    return [
        {"value": name, "label": str(labels.get(name, name)), "reason": reason}
        for name, reason in reasons.items()
    ]
