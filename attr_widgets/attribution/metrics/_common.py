"""Shared pieces of the evaluation metrics: scoring masked inputs, ranking features, curves, areas."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._baselines import make_baseline
from .._model_state import model_device, preserved_model
from .._outputs import OutputSelector, gather_scores, resolve_target, select_output
from .._validation import check_inputs, check_model, unknown_name_error

SCORES = ("logit", "probability", "accuracy")


@dataclass(frozen=True)
class Curve:
    """A perturbation curve: the model's score as a growing fraction of features is removed / kept / inserted.

    Attributes:
        name: which metric produced it ("deletion", "insertion", "keep_positive", ...).
        fractions: ``[S]`` the x axis (fraction of features removed, inserted or kept).
        scores: ``[B, S]`` the score of each example at each fraction.
        auc: ``[B]`` the area under each example's curve (trapezoid rule over ``fractions``).
        score: what was scored: "logit", "probability" or "accuracy".
    """

    name: str
    fractions: torch.Tensor
    scores: torch.Tensor
    auc: torch.Tensor
    score: str

    @property
    def mean_auc(self) -> float:
        """The area under the batch-mean curve (equals the mean of the per-example areas)."""
        return float(self.auc.mean())

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a chart."""
        return {
            "name": self.name,
            "score": self.score,
            "fractions": self.fractions.tolist(),
            "mean_scores": self.scores.mean(0).tolist(),
            "auc": self.auc.tolist(),
            "mean_auc": self.mean_auc,
        }


def area(scores: torch.Tensor, fractions: torch.Tensor) -> torch.Tensor:
    """Trapezoid area of each row of ``scores`` over ``fractions``."""
    return torch.trapezoid(scores, fractions.to(scores), dim=-1)


class Scorer:
    """Scores of a batch of (masked) inputs under ``no_grad``, for a fixed target per example.

    The model is used as it is (call ``model.eval()`` first, as for ``attribute``); its state is restored.
    """

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor,
        *,
        target: Any,
        output: OutputSelector,
        score: str,
    ) -> None:
        check_model(model)
        if score not in SCORES:
            raise unknown_name_error("score", score, SCORES)
        self.model, self.output, self.score = model, output, score
        self.inputs = check_inputs(inputs, model_device(model))
        logits = self.logits(self.inputs)
        self.target = resolve_target(target, logits)
        if score in ("probability", "accuracy"):
            if not isinstance(self.target, torch.Tensor):
                raise ValueError(
                    f"score={score!r} needs class targets (None, an int or a LongTensor), not a callable."
                )
            if logits.shape[1] < 2:
                raise ValueError(
                    f"score={score!r} needs a model with at least two classes, this one has a single "
                    "output column; use score='logit'."
                )
        self.original = self(self.inputs)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The selected ``[N, classes]`` output."""
        with preserved_model(self.model), torch.no_grad():
            return select_output(self.model(x), self.output, batch_size=x.shape[0]).detach()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``[B]`` scores of a batch aligned with the original examples."""
        logits = self.logits(x)
        if self.score == "logit":
            return gather_scores(logits, self.target, None)
        if self.score == "probability":
            return torch.softmax(logits.double(), dim=1).gather(1, self.target[:, None]).squeeze(1)  # type: ignore
        return logits.argmax(dim=1).eq(self.target).to(torch.float64)  # type: ignore[arg-type]


def replacement(baseline: Any, inputs: torch.Tensor, **baseline_options: Any) -> torch.Tensor:
    """The values removed features are replaced with: a baseline name ("zeros", "blur", ...) or a tensor."""
    if isinstance(baseline, (int, float)) and not isinstance(baseline, bool):
        return torch.full_like(inputs, float(baseline))
    return make_baseline(baseline, inputs, **baseline_options)


def check_attributions(attributions: Any, inputs: torch.Tensor, *, exact: bool = False) -> torch.Tensor:
    """Attributions ``[B, ...]`` that broadcast to ``inputs`` (e.g. ``[B, 1, H, W]`` ranks whole pixels)."""
    values = attributions if isinstance(attributions, torch.Tensor) else getattr(attributions, "values", None)
    if not isinstance(values, torch.Tensor):
        raise TypeError(
            f"attributions must be a tensor or an Attribution, got {type(attributions).__name__}."
        )
    values = values.detach().to(inputs.device)
    if not values.is_floating_point() or not torch.isfinite(values).all():
        raise ValueError("attributions must be finite floating-point values.")
    shape_ok = values.shape == inputs.shape
    if not exact and values.dim() == inputs.dim() and values.shape[0] == inputs.shape[0]:
        shape_ok = all(a in (1, b) for a, b in zip(values.shape[1:], inputs.shape[1:], strict=True))
    if not shape_ok:
        wanted = "the inputs' shape" if exact else "a shape that broadcasts to the inputs' (same batch size)"
        raise ValueError(f"attributions: expected {wanted} {tuple(inputs.shape)}, got {tuple(values.shape)}.")
    return values


def ranks(scores: torch.Tensor, *, descending: bool = True) -> torch.Tensor:
    """Rank of each feature per example (0 = first in order), ties broken by position (stable sort)."""
    order = torch.argsort(scores, dim=1, descending=descending, stable=True)
    positions = torch.arange(scores.shape[1], device=scores.device).expand_as(order)
    return torch.empty_like(order).scatter_(1, order, positions)


def apply_mask(
    keep: torch.Tensor, attributions: torch.Tensor, inputs: torch.Tensor, fill: torch.Tensor
) -> torch.Tensor:
    """Inputs where ``keep`` (flattened like the attributions) is true, ``fill`` elsewhere."""
    mask = keep.view(attributions.shape).expand(inputs.shape)
    return torch.where(mask, inputs, fill)


def curve(name: str, fractions: torch.Tensor, columns: list[torch.Tensor], score: str) -> Curve:
    """Assemble a :class:`Curve` from per-fraction score columns."""
    scores = torch.stack(columns, dim=1)
    fractions = fractions.to(scores)
    return Curve(name, fractions, scores, area(scores, fractions), score)


def check_fractions(fractions: Any) -> torch.Tensor:
    """Increasing fractions in [0, 1] (at least two points, so that the curve has an area)."""
    values = torch.as_tensor(fractions, dtype=torch.float64).reshape(-1)
    if values.numel() < 2 or not ((values >= 0) & (values <= 1)).all() or not (values.diff() > 0).all():
        raise ValueError(
            f"fractions must be at least two increasing numbers in [0, 1], got {values.tolist()}."
        )
    return values


def check_positive_int(name: str, value: Any) -> int:
    """Require a positive int."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return value


ExplanationFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
