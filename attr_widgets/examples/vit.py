"""A vision transformer with random weights, built from a ``transformers`` config (nothing downloaded).

Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale" (2021), as
Hugging Face's ``ViTForImageClassification``; the defaults are ViT-Ti/16 at 224 x 224 (Touvron et al.,
"Training data-efficient image transformers & distillation through attention", 2021: 192 wide, 12 layers,
3 heads). Eager attention, so that ``output_attentions=True`` returns the weights that ``method="attention"``
and ``method="attention_rollout"`` read. The tests use a small one (``vit_classifier(image_size=32, ...)``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def vit_classifier(
    *,
    image_size: int = 224,
    patch_size: int = 16,
    hidden_size: int = 192,
    layers: int = 12,
    heads: int = 3,
    num_classes: int = 1000,
    seed: int = 0,
    **config: Any,
) -> nn.Module:
    """``ViTForImageClassification`` with random weights from ``seed``, in eval mode (output ``.logits``).

    ``config``: further ``transformers.ViTConfig`` fields.
    """
    from transformers import ViTConfig, ViTForImageClassification

    settings = {
        "image_size": image_size,
        "patch_size": patch_size,
        "hidden_size": hidden_size,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": 4 * hidden_size,
        "num_labels": num_classes,
        "attn_implementation": "eager",
        **config,
    }
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = ViTForImageClassification(ViTConfig(**settings))
    finally:
        torch.random.set_rng_state(state)  # the caller's global RNG is left as it was
    return model.eval()
