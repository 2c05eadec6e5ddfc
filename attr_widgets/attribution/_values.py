"""Attribution values as they come back: one tensor, or a tuple of tensors (a layer with a tuple output).

A leaf helper shared by ``_api`` (delta, detaching, finiteness) and the layer methods, so that every place
that sums or checks attributions treats ``[B]`` inputs and tuples alike.
"""

from __future__ import annotations

from typing import Any, Union

import torch

# A tensor shaped like the inputs (or the layer's output), or one tensor per tensor of a tuple-valued layer.
Values = Union[torch.Tensor, tuple[torch.Tensor, ...]]  # noqa: UP007 (runtime alias, py3.10)


def as_tuple(values: Values) -> tuple[torch.Tensor, ...]:
    """The values as a tuple of tensors (a single tensor becomes a 1-tuple)."""
    return values if isinstance(values, tuple) else (values,)


def per_example_sums(values: Values) -> torch.Tensor:
    """``Σ values`` per example ``[B]``, over every tensor of a tuple.

    ``reshape(B, -1)`` rather than ``flatten(1)``: inputs ``[B]`` (one scalar feature per example) have no
    dim 1 to flatten, yet completeness is as meaningful for them as for images.
    """
    parts = as_tuple(values)
    batch = parts[0].shape[0]
    sums = parts[0].reshape(batch, -1).sum(dim=1)
    for part in parts[1:]:  # not ``sum(...)``: its start value 0 costs one more tensor op per call
        sums = sums + part.reshape(batch, -1).sum(dim=1)
    return sums


def detached(values: Values) -> Any:
    """The values without autograd history (each tensor of a tuple); ``Any`` like ``Attribution.values``."""
    if isinstance(values, tuple):
        return tuple(part.detach() for part in values)
    # A gradient from autograd.grad has no history already: keep it (a detach is a tensor op per call).
    return values.detach() if values.requires_grad else values


def single_or_tuple(parts: tuple[torch.Tensor, ...] | list[torch.Tensor]) -> Values:
    """One tensor when there is one, else the tuple (how tuple-valued layers come back)."""
    return parts[0] if len(parts) == 1 else tuple(parts)
