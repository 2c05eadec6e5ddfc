"""Next-token attribution for causal language models: the vocabulary's scores at the last position.

A causal LM returns logits ``[B, T, vocabulary]``; what it decides for a prompt is the token after the
last one. The text widget then attributes a vocabulary token (the target) at the last position, and offers
the model's top next tokens as targets. Real LM weights come from the user (nothing is downloaded).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from attr_widgets.attribution._outputs import _default_selection


class LastPosition:
    """An ``output=`` selector: ``[B, T, V]`` sequence logits → ``[B, V]`` at the last position.

    Each example is encoded on its own (no padding), so the last position is the last token of the prompt.
    """

    def __init__(self, inner: Callable[[Any], torch.Tensor] | None = None) -> None:
        self.inner = inner

    def __call__(self, raw: Any) -> torch.Tensor:
        return sequence_logits(raw, self.inner)[:, -1, :]

    def __repr__(self) -> str:  # part of cache keys: two selectors with the same inner one are the same
        return f"LastPosition({self.inner!r})"


def sequence_logits(raw: Any, inner: Callable[[Any], torch.Tensor] | None) -> torch.Tensor:
    """The model's per-position logits: its output as ``output=None`` picks it, or ``inner(raw)``."""
    picked = _default_selection(raw) if inner is None else inner(raw)
    if not isinstance(picked, torch.Tensor):
        raise ValueError(f"output: expected a tensor of logits, got {type(picked).__name__}.")
    return picked


def detect_next_token(
    model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, output: Any
) -> bool:
    """Whether the (selected) output is per-position logits ``[1, T, V]``: a causal LM's next-token scores."""
    if output is not None and not callable(output):
        return False  # a key or index selects [B, classes] from a classifier's output
    with torch.no_grad():
        raw = model(input_ids=input_ids, attention_mask=attention_mask)
        picked = sequence_logits(raw, output)
    return picked.dim() == 3 and picked.shape[1] == input_ids.shape[1]


def vocabulary_names(tokenizer: Any, size: int) -> list[str]:
    """The tokenizer's name of every vocabulary entry (its index where the model's vocabulary is larger)."""
    known = min(size, len(tokenizer)) if hasattr(tokenizer, "__len__") else size
    names: Sequence[Any] = tokenizer.convert_ids_to_tokens(list(range(known)))
    return [str(name) if name is not None else str(i) for i, name in enumerate(names)] + [
        str(i) for i in range(known, size)
    ]
