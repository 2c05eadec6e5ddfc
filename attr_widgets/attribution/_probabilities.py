"""What a classifier's scores are: logits, probabilities or log-probabilities, and probabilities from them.

A model that ends in ``nn.Softmax`` already returns probabilities; applying softmax again flattens them
(98.7 % / 0.7 % / 0.7 % becomes 57 % / 21 % / 21 %). The kind is read off the values, which is what matters
whatever the last module is: rows in [0, 1] that sum to 1 are probabilities, rows ≤ 0 whose exponentials
sum to 1 are log-probabilities (``nn.LogSoftmax``), anything else is logits. ``output_kind=`` overrides.
"""

from __future__ import annotations

import torch

OUTPUT_KINDS = ("logits", "probabilities", "log_probabilities")

KIND_REASONS = {
    "logits": "logits (softmax applied for the probabilities)",
    "probabilities": "probabilities (every row in [0, 1] sums to 1): shown as they are",
    "log_probabilities": "log-probabilities (every row ≤ 0, its exponentials sum to 1): exponentiated",
}


def _tolerance(scores: torch.Tensor) -> float:
    # Rounding of a sum of C terms, generously; a logit row landing this close to a distribution is a fluke.
    eps = torch.finfo(scores.dtype).eps if scores.is_floating_point() else 0.0
    return max(1e-5, 16 * scores.shape[1] * eps)


def detect_output_kind(scores: torch.Tensor) -> str:
    """``"probabilities"``, ``"log_probabilities"`` or ``"logits"`` for ``[B, classes]`` scores.

    One class (``[B, 1]``) is always taken as logits: a single probability column cannot be told apart.
    """
    if not scores.is_floating_point() or scores.dim() != 2 or scores.shape[1] < 2 or scores.numel() == 0:
        return "logits"
    s = scores.detach().double()
    tol = _tolerance(scores)
    if bool(((s >= -tol) & (s <= 1 + tol)).all()) and bool(((s.sum(dim=1) - 1).abs() <= tol).all()):
        return "probabilities"
    if bool((s <= tol).all()) and bool((torch.logsumexp(s, dim=1).abs() <= tol).all()):
        return "log_probabilities"
    return "logits"


def check_output_kind(output_kind: object) -> str | None:
    """``output_kind`` as given (None: detect), or a ValueError naming it and the choices."""
    if output_kind is None or output_kind in OUTPUT_KINDS:
        return output_kind  # type: ignore[return-value]
    raise ValueError(
        f"output_kind must be None (detect) or one of {list(OUTPUT_KINDS)}, got {output_kind!r}."
    )


def to_probabilities(scores: torch.Tensor, output_kind: str | None = None) -> tuple[torch.Tensor, str]:
    """``(probabilities [B, classes], the kind assumed)``: softmax of logits, exp of log-probabilities."""
    kind = check_output_kind(output_kind) or detect_output_kind(scores)
    values = scores.detach().float()
    if kind == "logits":
        return torch.softmax(values, dim=1), kind
    if kind == "log_probabilities":
        return values.exp(), kind
    return values, kind
