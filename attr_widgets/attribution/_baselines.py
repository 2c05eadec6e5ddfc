"""Baselines (references) for path and reference-based methods."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F

from ._validation import unknown_name_error

BASELINE_NAMES = ("zeros", "blur", "uniform", "mean")
TOKEN_BASELINE_NAMES = ("pad", "mask")


def baseline_name(baseline: object) -> str:
    """The name recorded in ``Attribution.baseline``: the string itself, or "tensor"."""
    return baseline if isinstance(baseline, str) else "tensor"


def make_baseline(
    baseline: object,
    inputs: torch.Tensor,
    *,
    data: Any = None,
    blur_sigma: float | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """A baseline tensor with the shape of ``inputs``.

    - ``"zeros"``: all zeros.
    - ``"blur"``: the input blurred with a Gaussian over its trailing spatial dims (the last two for
      ``[B, C, H, W]``, the last one for ``[B, C, L]``); ``blur_sigma`` defaults to a tenth of the
      largest size.
    - ``"uniform"``: uniform noise over the value range of the batch, drawn with ``seed`` (reproducible).
    - ``"mean"``: the mean example of ``data`` (a tensor ``[N, ...]``, or an iterable such as a DataLoader
      yielding tensors or ``(inputs, ...)`` tuples).
    - a tensor that broadcasts to the inputs' shape.
    """
    if isinstance(baseline, torch.Tensor):
        return _broadcast(baseline, inputs)
    if not isinstance(baseline, str):
        raise TypeError(
            f"baseline must be one of {BASELINE_NAMES} or a tensor broadcastable to the inputs, "
            f"got {type(baseline).__name__}."
        )
    if not inputs.is_floating_point():
        raise ValueError(
            f"baseline={baseline!r} needs floating-point inputs; for token ids use 'pad' or 'mask'."
        )
    if baseline == "zeros":
        return torch.zeros_like(inputs)
    if baseline == "blur":
        return blur(inputs, blur_sigma)
    if baseline == "uniform":
        generator = torch.Generator().manual_seed(int(seed))
        noise = torch.rand(inputs.shape, generator=generator, dtype=torch.float64)
        low, high = inputs.min().double().cpu(), inputs.max().double().cpu()
        return (low + (high - low) * noise).to(inputs.device, inputs.dtype)
    if baseline == "mean":
        if data is None:
            raise ValueError("baseline='mean' needs data=: a tensor [N, ...] or a DataLoader of examples.")
        return _broadcast(dataset_mean(data), inputs, argument="data")
    raise unknown_name_error("baseline", baseline, BASELINE_NAMES)


def _broadcast(baseline: torch.Tensor, inputs: torch.Tensor, argument: str = "baseline") -> torch.Tensor:
    dtype = inputs.dtype if inputs.is_floating_point() else baseline.dtype
    baseline = baseline.detach().to(inputs.device, dtype)
    if baseline.dim() <= inputs.dim():
        try:
            return baseline.expand_as(inputs)
        except RuntimeError:
            pass
    raise ValueError(
        f"{argument}: a baseline of shape {tuple(baseline.shape)} does not broadcast to the inputs' shape "
        f"{tuple(inputs.shape)}; pass one example {tuple(inputs.shape[1:])} or a batch {tuple(inputs.shape)}."
    )


def dataset_mean(data: Any) -> torch.Tensor:
    """Mean example of ``data`` (a tensor ``[N, ...]`` or an iterable of batches), in float64 for accuracy."""
    if isinstance(data, torch.Tensor):
        if data.dim() < 1 or data.shape[0] == 0:
            raise ValueError(f"data must be a non-empty tensor [N, ...], got shape {tuple(data.shape)}.")
        return data.detach().double().mean(dim=0)
    if not isinstance(data, Iterable):
        raise TypeError(
            f"data must be a tensor [N, ...] or an iterable of batches, got {type(data).__name__}."
        )
    total, count = None, 0
    for batch in data:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        elif isinstance(batch, dict):
            batch = next(iter(batch.values()))
        if not isinstance(batch, torch.Tensor):
            raise TypeError(
                f"data: each batch must be a tensor or a tuple starting with one, got {type(batch)}."
            )
        batch_sum = batch.detach().double().sum(dim=0)
        total = batch_sum if total is None else total + batch_sum.to(total.device)
        count += batch.shape[0]
    if total is None or count == 0:
        raise ValueError("data: the loader yielded no examples.")
    return total / count


def _gaussian_kernel(sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    radius = max(1, math.ceil(3.0 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return (kernel / kernel.sum()).to(device, dtype)


def blur(inputs: torch.Tensor, sigma: float | None = None) -> torch.Tensor:
    """Separable Gaussian blur over the trailing spatial dims, with reflected borders."""
    if inputs.dim() < 3:
        raise ValueError(
            f"baseline='blur' needs inputs with spatial dims ([B, C, L] or [B, C, H, W]), got shape "
            f"{tuple(inputs.shape)}."
        )
    spatial = inputs.shape[2:] if inputs.dim() == 3 else inputs.shape[-2:]
    if sigma is None:
        sigma = max(0.5, max(spatial) / 10.0)
    if sigma <= 0:
        raise ValueError(f"blur_sigma must be positive, got {sigma}.")
    kernel = _gaussian_kernel(float(sigma), inputs.dtype, inputs.device)
    out = inputs.reshape(-1, 1, *spatial)
    for axis in range(len(spatial)):
        size = out.shape[2 + axis]
        k = kernel
        radius = (len(k) - 1) // 2
        if radius >= size:
            # Reflection padding needs pad < size; clip the kernel for tiny inputs.
            k = kernel[len(kernel) // 2 - (size - 1) : len(kernel) // 2 + size]
            k = k / k.sum()
            radius = (len(k) - 1) // 2
        shape = [1, 1] + [1] * len(spatial)
        shape[2 + axis] = len(k)
        pad = [0, 0] * len(spatial)
        pad[2 * (len(spatial) - 1 - axis)] = radius
        pad[2 * (len(spatial) - 1 - axis) + 1] = radius
        padded = F.pad(out, pad, mode="reflect")
        conv = F.conv1d if len(spatial) == 1 else F.conv2d
        out = conv(padded, k.reshape(shape))
    return out.reshape(inputs.shape)
