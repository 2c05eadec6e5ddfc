"""Text inputs for the token widget: encoding with offsets and words, the embedding layer, tokenizer checks.

Words come from the tokenizer itself (``BatchEncoding.word_ids()`` of a fast tokenizer, i.e. its
pre-tokenizer's words), never from guessing at ``##`` / ``Ġ`` / ``▁`` markers.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

# A model_max_length this large is the tokenizer's "no limit" sentinel, not a real limit.
NO_LIMIT = 10**6


@dataclass(frozen=True)
class TextExample:
    """One encoded example: ids ``[1, T]``, mask ``[1, T]``, and one record per token for the view."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    tokens: list[dict[str, Any]]
    text: str | None
    truncated_from: int | None  # the full length in tokens when the text was cut to the model's maximum

    @property
    def preview(self) -> str:
        text = (
            self.text
            if self.text is not None
            else " ".join(t["text"] for t in self.tokens if not t["special"])
        )
        return text if len(text) <= 60 else text[:57] + "…"


def find_token_embedding(model: nn.Module) -> tuple[str, nn.Embedding]:
    """The embedding of token ids, where per-token gradients and layer IG are taken.

    ``get_input_embeddings()`` of a (wrapped) Hugging Face model, else the first ``nn.Embedding``.
    """
    names = {id(module): name for name, module in model.named_modules()}
    for module in model.modules():
        getter = getattr(module, "get_input_embeddings", None)
        if callable(getter):
            try:
                embedding = getter()
            except (NotImplementedError, AttributeError):
                continue
            if isinstance(embedding, nn.Embedding) and id(embedding) in names:
                return names[id(embedding)], embedding
    for name, module in model.named_modules():
        if isinstance(module, nn.Embedding):
            return name, module
    raise ValueError(
        "model: no nn.Embedding found for the token ids; pass layer= the module whose output is the token "
        "embeddings."
    )


def max_tokens(tokenizer: Any, model: nn.Module) -> int | None:
    """The longest input the model takes: the tokenizer's limit, or the position embeddings' size."""
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < NO_LIMIT:
        return limit
    for module in model.modules():
        size = getattr(getattr(module, "config", None), "max_position_embeddings", None)
        if isinstance(size, int) and size > 0:
            return size
    return None


def check_vocabulary(tokenizer: Any, embedding: nn.Embedding) -> None:
    vocab = len(tokenizer)
    if vocab > embedding.num_embeddings:
        raise ValueError(
            f"tokenizer: its vocabulary has {vocab} tokens but the model's token embedding has "
            f"{embedding.num_embeddings} rows; pass the tokenizer the model was trained with."
        )


def encode(inputs: Any, tokenizer: Any, limit: int | None) -> list[TextExample]:
    """``inputs`` (a text, a list of texts, or a BatchEncoding / dict with ``input_ids``) as examples."""
    if tokenizer is None:
        raise TypeError(
            "tokenizer=: text inputs need the model's tokenizer (e.g. AutoTokenizer.from_pretrained)."
        )
    if isinstance(inputs, str):
        return [_encode_text(inputs, tokenizer, limit, "inputs")]
    if isinstance(inputs, Mapping):  # a BatchEncoding is one
        return _encode_ids(inputs, tokenizer)
    if isinstance(inputs, Sequence) and inputs and all(isinstance(t, str) for t in inputs):
        return [_encode_text(t, tokenizer, limit, f"inputs[{i}]") for i, t in enumerate(inputs)]
    raise TypeError(
        "inputs must be a text, a non-empty list of texts, or the tokenizer's output (a dict with "
        "input_ids), "
        f"got {type(inputs).__name__}."
    )


def _encode_text(text: str, tokenizer: Any, limit: int | None, name: str) -> TextExample:
    if not text.strip():
        raise ValueError(f"{name} is an empty text; there is nothing to attribute.")
    full = len(tokenizer(text, add_special_tokens=True)["input_ids"])
    truncate = limit is not None and full > limit
    if truncate:
        warnings.warn(
            f"{name}: {full} tokens, more than the model's maximum of {limit}; it is cut to the first "
            f"{limit}.",
            UserWarning,
            stacklevel=4,
        )
    enc = tokenizer(
        text, return_tensors="pt", truncation=truncate, max_length=limit if truncate else None,
        return_offsets_mapping=getattr(tokenizer, "is_fast", False), return_special_tokens_mask=True,
    )  # fmt: skip
    ids = enc["input_ids"]
    mask = enc.get("attention_mask", torch.ones_like(ids))
    offsets = enc["offset_mapping"][0].tolist() if "offset_mapping" in enc else None
    words = enc.word_ids(0) if offsets is not None else None
    special = enc["special_tokens_mask"][0].tolist()
    pieces = tokenizer.convert_ids_to_tokens(ids[0].tolist())
    tokens = []
    previous_end = 0
    for i, piece in enumerate(pieces):
        record: dict[str, Any] = {"text": piece, "special": bool(special[i]), "word": i, "space": i > 0}
        if offsets is not None and not special[i]:
            start, end = offsets[i]
            record.update(text=text[start:end], space=start > previous_end, word=_word_index(words, i))
            previous_end = end
        tokens.append(record)
    return TextExample(ids, mask, tokens, text, full if truncate else None)


def _word_index(words: list[int | None] | None, i: int) -> int:
    # Special tokens have no word; words are numbered past any token index so the two never collide.
    word = None if words is None else words[i]
    return i if word is None else 1_000_000 + word


def _encode_ids(encoding: Mapping[str, Any], tokenizer: Any) -> list[TextExample]:
    if "input_ids" not in encoding:
        raise ValueError(
            "inputs: a dict of token tensors needs 'input_ids' (and optionally 'attention_mask')."
        )
    ids = torch.as_tensor(encoding["input_ids"])
    if ids.dim() == 1:
        ids = ids[None]
    if ids.dim() != 2 or ids.is_floating_point() or ids.shape[1] == 0:
        raise ValueError(
            f"inputs['input_ids'] must be integer token ids [B, T], got shape {tuple(ids.shape)}."
        )
    mask = encoding.get("attention_mask")
    mask = torch.ones_like(ids) if mask is None else torch.as_tensor(mask).reshape(ids.shape)
    special_ids = set(getattr(tokenizer, "all_special_ids", []))
    examples = []
    for row, row_mask in zip(ids, mask, strict=True):
        keep = row_mask.bool()  # padding is not part of the example
        row = row[keep]
        pieces = tokenizer.convert_ids_to_tokens(row.tolist())
        tokens = [
            {"text": p, "special": int(t) in special_ids, "word": i, "space": i > 0}
            for i, (p, t) in enumerate(zip(pieces, row.tolist(), strict=True))
        ]
        examples.append(TextExample(row[None], torch.ones_like(row)[None], tokens, None, None))
    return examples


def word_scores(scores: np.ndarray, tokens: Sequence[Mapping[str, Any]]) -> tuple[list[str], np.ndarray]:
    """Words (joined pieces) and their scores: the sum of their pieces' scores (sums keep completeness)."""
    order: dict[int, int] = {}
    texts: list[str] = []
    totals: list[float] = []
    for token, score in zip(tokens, scores, strict=True):
        index = order.setdefault(int(token["word"]), len(texts))
        if index == len(texts):
            texts.append(str(token["text"]))
            totals.append(0.0)
        else:
            texts[index] += str(token["text"])
        totals[index] += float(score)
    return texts, np.asarray(totals, dtype=np.float64)
