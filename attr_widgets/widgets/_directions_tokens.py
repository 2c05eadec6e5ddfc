"""Texts as DirectionsWidget data: one sample per token, patched per position.

For a token model the activation at a layer is ``[batch, seq, n]``: each (non-padding) token of each text is
one sample of the n features, so the important directions are directions of the n-dimensional token state
(Hilton, "A basis-invariant version of attribution", 2024, applied position-wise, as ``projection.collect``
does). ``f`` is still one number per text (its class logit), so the gradient sample of a token is ``∂f/∂h_t``.
A slider moves the chosen tokens' states (every token, or one pinned token) along a direction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ._tokens import encode, max_tokens

SNIPPET_CONTEXT = 3  # tokens shown on each side of a top / bottom token


@dataclass(frozen=True)
class TokenBatch:
    """Padded ``input_ids`` / ``attention_mask`` ``[N, T]`` and the tokens' records (indexable by rows)."""

    input_ids: Tensor
    attention_mask: Tensor
    tokens: tuple[tuple[dict[str, Any], ...], ...]
    ndim: int = 2  # not an image (the widget's image checks read ``ndim == 4``)

    @property
    def shape(self) -> torch.Size:
        return self.input_ids.shape

    def __getitem__(self, index: slice | Tensor) -> TokenBatch:
        rows = list(range(self.shape[0]))[index] if isinstance(index, slice) else index.tolist()
        return TokenBatch(
            self.input_ids[index], self.attention_mask[index], tuple(self.tokens[int(i)] for i in rows)
        )

    def valid(self) -> Tensor:
        """``[N, T]`` bool: the positions that are tokens of the text (padding excluded)."""
        return self.attention_mask.bool()


def tokenize(texts: Any, tokenizer: Any, model: nn.Module) -> TokenBatch:
    """A list of texts (or the tokenizer's output) as one padded batch; at least two texts."""
    if isinstance(texts, str):
        raise TypeError("data: with tokenizer=, data must be a list of texts (at least 2), got one string.")
    if not isinstance(texts, (Sequence, Mapping)):
        raise TypeError(f"data: with tokenizer=, data must be a list of texts, got {type(texts).__name__}.")
    examples = encode(texts, tokenizer, max_tokens(tokenizer, model))
    if len(examples) < 2:
        raise ValueError(
            f"data needs at least 2 texts (directions of variance need a spread), got {len(examples)}."
        )
    length = max(int(e.input_ids.shape[1]) for e in examples)
    pad = getattr(tokenizer, "pad_token_id", None) or 0
    ids = torch.full((len(examples), length), int(pad), dtype=torch.long)
    mask = torch.zeros((len(examples), length), dtype=torch.long)
    for i, e in enumerate(examples):
        width = int(e.input_ids.shape[1])
        ids[i, :width] = e.input_ids[0]
        mask[i, :width] = e.attention_mask[0]
    return TokenBatch(ids, mask, tuple(tuple(e.tokens) for e in examples))


def forward(model: nn.Module, batch: Tensor | TokenBatch, device: torch.device) -> Any:
    """The model on a batch of data: a tensor as its input, texts as ``input_ids`` and ``attention_mask``."""
    if isinstance(batch, TokenBatch):
        return model(input_ids=batch.input_ids.to(device), attention_mask=batch.attention_mask.to(device))
    return model(batch.to(device))


def logits_of(out: Any) -> Any:
    """A classifier's logits from what the model returned: a tensor, a dict / object with logits, a tuple."""
    if isinstance(out, Tensor):
        return out
    if isinstance(out, Mapping) and "logits" in out:
        return out["logits"]
    if hasattr(out, "logits"):
        return out.logits
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
        return out[0]
    return out


def snippet(batch: TokenBatch, example: int, position: int) -> dict[str, Any]:
    """A token with a few tokens of context on each side (special tokens left out), as text pieces."""
    tokens = batch.tokens[example]
    shown = [i for i, t in enumerate(tokens) if not t["special"]]
    if position not in shown:
        shown = sorted({*shown, position})
    at = shown.index(position)
    before = [tokens[i]["text"] for i in shown[max(0, at - SNIPPET_CONTEXT) : at]]
    after = [tokens[i]["text"] for i in shown[at + 1 : at + 1 + SNIPPET_CONTEXT]]
    return {"example": example, "position": position, "before": before, "token": tokens[position]["text"],
            "after": after}  # fmt: skip
