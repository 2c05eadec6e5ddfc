"""Attention rollout, and token maps of vision transformers drawn over the image.

Attention rollout (Abnar & Zuidema, "Quantifying Attention Flow in Transformers", 2020): each layer's
attention, heads averaged, plus the identity for the residual connection, rows renormalised,
``Â = (A + I) / 2``; the product ``Â_L ⋯ Â_1`` says how much each input token reaches each output token
through all layers. Like the raw attention weights it explains where information flows, not the target
score (it is the same for every class).

For image inputs ``[B, C, H, W]`` (a ViT), a token map ``[B, T]`` is laid out on the patch grid (the
leading special tokens, [CLS] and DeiT's distillation token, dropped) and upsampled to the image, so the
heatmap lies over the image like any other attribution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._methods_layer import _select_attentions
from ._registry import NOT_IN_TABLES, register
from ._request import MethodOutput, Request


def patch_grid(tokens: int, height: int, width: int) -> tuple[int, int, int]:
    """``(special tokens, grid rows, grid columns)`` for ``tokens`` tokens of an ``height x width`` image.

    A ViT cuts the image into square ``p x p`` patches (``height // p`` rows, ``width // p`` columns); 1, 0 or
    2 leading special tokens ([CLS], DeiT's distillation token) are tried in that order.
    """
    for special in (1, 0, 2):
        patches = tokens - special
        for rows in range(1, patches + 1):
            if patches % rows:
                continue
            columns = patches // rows
            sizes = range(height // (rows + 1) + 1, height // rows + 1)  # every p with height // p == rows
            if any(width // size == columns for size in sizes):
                return special, rows, columns
    raise ValueError(
        f"inputs: {tokens} tokens do not form a patch grid of the {height} x {width} image (with 0-2 leading "
        "special tokens); attention maps on images need a vision transformer's patch tokens."
    )


def on_image(token_values: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """``[B, T]`` token values as ``[B, 1, H, W]``: the patch grid upsampled (nearest) to the image."""
    height, width = int(inputs.shape[-2]), int(inputs.shape[-1])
    special, rows, columns = patch_grid(int(token_values.shape[1]), height, width)
    grid = token_values[:, special:].reshape(-1, 1, rows, columns)
    return F.interpolate(grid, size=(height, width), mode="nearest")


def image_inputs(request: Request) -> bool:
    """Whether the request's inputs are float images ``[B, C, H, W]``."""
    return request.inputs.is_floating_point() and request.inputs.dim() == 4


def rollout(attentions: torch.Tensor, residual: float = 0.5) -> torch.Tensor:
    """``[B, T, T]`` rollout of stacked attentions ``[B, L, heads, T, T]`` (heads averaged)."""
    fused = attentions.double().mean(dim=2)  # [B, L, T, T]
    eye = torch.eye(fused.shape[-1], dtype=fused.dtype, device=fused.device)
    mixed = (1 - residual) * fused + residual * eye
    mixed = mixed / mixed.sum(dim=-1, keepdim=True)
    result = mixed[:, 0]
    for layer in range(1, mixed.shape[1]):
        result = mixed[:, layer] @ result  # a later layer reads the earlier layers' mixture
    return result


@register(
    "attention_rollout",
    family="attention",
    description="Attention rollout (Abnar & Zuidema, Quantifying Attention Flow in Transformers, 2020): "
    "attention of every layer, heads averaged, with the residual as identity ((A + I) / 2, rows "
    "renormalised), multiplied through the layers; the row of the query token (default 0, [CLS]). Like "
    "attention weights it is the same for every target class. For a vision transformer the patch tokens "
    "are drawn on the image grid.",
    options={"query": 0, "residual": 0.5, "attentions": "attentions"},
    axioms=NOT_IN_TABLES,
    integer_inputs=True,
)
def attention_rollout(request: Request) -> MethodOutput:
    """Roll the model's attention weights out through its layers (``output_attentions=True``)."""
    scorer = request.scorer
    residual = float(request.options["residual"])
    if not 0.0 <= residual <= 1.0:
        raise ValueError(f"residual must be in [0, 1] (the identity's share), got {residual!r}.")
    with torch.no_grad():
        raw = scorer.run_model(request.inputs, {"output_attentions": True, **scorer.kwargs(None)})
    stack = torch.stack(_select_attentions(raw, request.options["attentions"]), dim=1)  # [B, L, H, T, T]
    flow = rollout(stack.detach(), residual)
    query = request.options["query"]
    values = flow.mean(dim=1) if query == "mean" else flow[:, int(query)]
    values = values.to(stack.dtype)
    if image_inputs(request):
        values = on_image(values, request.inputs)
    return MethodOutput(values, info={"attention": stack.detach(), "rollout": flow.to(stack.dtype)})
