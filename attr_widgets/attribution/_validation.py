"""Argument checks that turn bad input into errors naming the argument and what was expected."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .._torch import resolve_layer as resolve_layer  # re-exported: moved to attr_widgets._torch
from .._torch import unknown_name_error as unknown_name_error


def all_finite(tensor: torch.Tensor) -> bool:
    """Whether every element is finite; one reduction in the common case.

    A NaN or an infinity anywhere makes the sum non-finite, so a finite sum proves the tensor finite; only a
    non-finite sum (also reached by overflow of large finite values) needs the element-wise check.
    """
    # ``float`` of the 0-d sum and ``math.isfinite``: a few microseconds, against ~18 µs for a second
    # tensor op (``torch.isfinite``) and its ``bool``; this runs three times per single-pass call.
    return math.isfinite(float(tensor.sum())) or bool(torch.isfinite(tensor).all())


def check_model(model: object) -> nn.Module:
    """Require a torch.nn.Module."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    return model


def check_inputs(inputs: object, device: torch.device, *, floating: bool = True) -> torch.Tensor:
    """Require a batched tensor of finite values; return a detached copy on ``device``.

    ``floating=False`` admits integer inputs (token ids for layer methods on embeddings).
    """
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(
            f"inputs must be a torch.Tensor with a batch dimension [B, ...], got {type(inputs).__name__}."
        )
    if inputs.dim() < 1 or inputs.shape[0] == 0:
        raise ValueError(
            f"inputs must have a non-empty batch dimension [B, ...], got shape {tuple(inputs.shape)}."
        )
    if inputs.is_floating_point():
        if not all_finite(inputs):
            bad = int((~torch.isfinite(inputs)).sum())
            raise ValueError(f"inputs contains {bad} NaN or Inf value(s); attributions need finite inputs.")
    elif floating:
        raise TypeError(
            f"inputs must be a floating-point tensor for this method, got dtype {inputs.dtype}; integer "
            "inputs "
            "(token ids) are attributed through layer=... with method='layer_integrated_gradients'."
        )
    elif inputs.is_complex():
        raise TypeError("inputs must be real-valued, got a complex tensor.")
    return inputs.detach().to(device)


MAX_STEPS = 4096


def check_n_steps(n_steps: object, *, minimum: int = 1) -> int | str:
    """Require an int in ``minimum..MAX_STEPS`` (numpy integers too) or "auto"."""
    if isinstance(n_steps, str) and n_steps == "auto":
        return "auto"
    if isinstance(n_steps, (bool, np.bool_)) or not isinstance(n_steps, (int, np.integer)):
        raise TypeError(f"n_steps must be an int or 'auto', got {n_steps!r}.")
    n_steps = int(n_steps)
    if n_steps < minimum:
        raise ValueError(f"n_steps must be at least {minimum} for this integration rule, got {n_steps}.")
    if n_steps > MAX_STEPS:
        # The bound keeps the quadrature meaningful; n_steps * batch rows are chunked to fit memory anyway.
        raise ValueError(
            f"n_steps must be in {minimum}..{MAX_STEPS}, got {n_steps}; "
            "the n_steps * batch rows are chunked to fit memory, so a large batch needs no smaller n_steps."
        )
    return n_steps


def diagnose_inputs(model: nn.Module, inputs: torch.Tensor) -> str | None:
    """Why a conv model's forward fails on ``inputs`` (shape vs its first Conv2d), or None if not that."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        return None
    channels, shape = conv.in_channels, tuple(inputs.shape)
    if inputs.dim() == 3:
        return (
            f"inputs: got shape {shape}, an unbatched image [C, H, W]; the model's first Conv2d expects "
            f"[B, {channels}, H, W]: add a batch dim: inputs[None]."
        )
    if inputs.dim() == 4 and shape[1] != channels:
        if shape[-1] == channels:
            return (
                f"inputs: got shape {shape}, channels-last [B, H, W, C]; the model's first Conv2d expects "
                f"[B, {channels}, H, W]: pass inputs.permute(0, 3, 1, 2)."
            )
        return (
            f"inputs: got {shape[1]} channel(s) in shape {shape}, but the model's first Conv2d expects "
            f"in_channels={channels}: pass inputs shaped [B, {channels}, H, W]."
        )
    return None


def check_internal_batch_size(value: object) -> int | str | None:
    """Require None, "auto" or a positive int."""
    if value is None or value == "auto":
        return value  # type: ignore[return-value]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"internal_batch_size must be a positive int, 'auto' or None, got {value!r}.")
    return value


def check_finite_result(values: torch.Tensor | tuple[torch.Tensor, ...], method: str) -> None:
    """Raise when an attribution came back with NaN/Inf (a non-differentiable or exploding model)."""
    parts = values if isinstance(values, tuple) else (values,)
    if any(part.is_floating_point() and not all_finite(part) for part in parts):
        raise ValueError(
            f"method={method!r} produced NaN/Inf attributions; the model's output is not differentiable "
            "(or overflows) at these inputs."
        )


def plain(value: Any) -> Any:
    """Plain-data (JSON-able) form of a setting, for Attribution.to_dict()."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist() if value.numel() <= 4096 else f"tensor{tuple(value.shape)}"
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, nn.Module):
        return type(value).__name__
    if callable(value):
        return getattr(value, "__qualname__", None) or getattr(value, "__name__", None) or repr(value)
    return repr(value)
