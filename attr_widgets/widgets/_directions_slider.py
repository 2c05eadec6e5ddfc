"""DirectionsWidget's cheap request: one example through the model, its activation moved along the directions.

Hilton, "A basis-invariant version of attribution" (2024). The hook exists for that one forward and backward
pass only. The expensive request (collect and solve) is in ``_directions_compute``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from attr_widgets._torch import model_device, patched

from ._directions_compute import DirectionsState, TargetReader, _restore_modes, _softmax
from ._directions_tokens import TokenBatch, forward


@dataclass(frozen=True)
class SliderOutcome:
    """One example through the model with its activation moved (and optionally projected)."""

    f_before: float
    f_after: float
    probs_after: Tensor | None  # [C]
    coords: Tensor  # [r] the example's own coordinates (texts: the mean over the moved tokens)
    coords_after: Tensor  # [r] after the move
    attribution: Tensor  # [r] coordinate × gradient along each direction, at the moved point
    token_coords: Tensor | None = None  # texts: [T, r] each token's coordinates before the move


def slider_pass(
    model: nn.Module,
    layer: nn.Module,
    x: Tensor | TokenBatch,
    index: int,
    state: DirectionsState,
    reader: TargetReader,
    offsets: Tensor,
    project: bool,
    position: int | None = None,
) -> SliderOutcome:
    """One forward and backward pass of example ``index`` with its activation moved.

    The activation ``h`` is replaced by ``h' = (μ + P(h − μ) if project else h) + Σᵢ offsetᵢ · spreadᵢ · aᵢ``.
    For texts every token's state is one ``h`` (projected when ``project``); the shift moves the tokens at
    ``position`` (None: every token of the text).
    """
    proj = state.projection
    captured: list[Tensor] = []
    before: list[Tensor] = []
    tokens = isinstance(x, TokenBatch)
    chosen = None
    if isinstance(x, TokenBatch):
        chosen = x.valid()[0].clone()
        if position is not None:
            chosen = torch.zeros_like(chosen)
            chosen[position] = True

    def move(h: Tensor) -> Tensor:
        flat = (h[0] if tokens else h.flatten(1)).to(proj.mean.dtype)
        before.append(flat.detach())
        base = proj(flat) if project else flat
        shift = (offsets.to(proj.mean.dtype) * state.spreads) @ proj.act_basis.T
        if chosen is not None:
            shift = chosen.to(flat.device, flat.dtype)[:, None] * shift
        leaf = (base + shift).detach().requires_grad_(True)
        captured.append(leaf)
        return leaf.to(h.dtype).reshape(h.shape)

    restore = _restore_modes(model)
    try:
        model.eval()
        with patched(layer, move), torch.enable_grad():
            out = forward(model, x, model_device(model))
            classes = None if state.samples.classes is None else state.samples.classes[index : index + 1]
            f = reader(out, classes, 1)
            if len(captured) != 1:
                raise ValueError(f"layer ran {len(captured)} times in one forward; pick one running once")
            (grad,) = torch.autograd.grad(f.sum(), captured[0], allow_unused=True)
    finally:
        restore()
    moved = captured[0].detach()
    grad_rows = torch.zeros_like(moved) if grad is None else grad
    slopes = grad_rows @ proj.act_basis.to(grad_rows.dtype)  # [rows, r]
    probs = _softmax(out)
    if chosen is None:  # one sample per example: its one row
        coords, coords_after, attribution, token_coords = (
            state.coords[index], proj.coords(moved[0]), proj.coords(moved[0]) * slopes[0], None
        )
    else:
        rows = chosen.to(moved.device)
        after = proj.coords(moved[rows])
        coords = proj.coords(before[0][rows]).mean(0)
        coords_after, attribution = after.mean(0), (after * slopes[rows]).sum(0)
        token_coords = proj.coords(before[0])
    return SliderOutcome(
        f_before=float(state.samples.f[index]),
        f_after=float(f.detach()[0]),
        probs_after=None if probs is None else probs[0],
        coords=coords,
        coords_after=coords_after,
        attribution=attribution,
        token_coords=token_coords,
    )
