"""The scalar function we differentiate: target score of each row of an expanded batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ._outputs import OutputSelector, SelectedOutput, gather_scores, select_output


@dataclass
class Scorer:
    """``scores(x, rows) -> [N]``: model → output selector → target, for rows of an expanded batch.

    ``rows[i]`` is the index of the original example row ``i`` stands for; it picks that example's target
    class and its batched forward keyword arguments (e.g. an attention mask).
    """

    model: nn.Module
    output: OutputSelector
    target: torch.Tensor | Callable[[torch.Tensor], torch.Tensor]
    kwarg_names: tuple[str, ...] = ()
    batched_kwargs: tuple[torch.Tensor, ...] = ()
    static_kwargs: dict[str, Any] = field(default_factory=dict)
    # ``progress(done, total)`` after each model call, in rows of the expanded batch; whatever it raises
    # (a widget's ``Cancelled``) propagates out of the model call and aborts the attribution.
    progress: Callable[[int, int], object] | None = None
    total_rows: int = 0
    done_rows: int = 0

    def count(self, rows: int) -> None:
        """Record a model call on ``rows`` rows and report it (the total grows if the estimate was low)."""
        self.done_rows += rows
        self.total_rows = max(self.total_rows, self.done_rows)
        if self.progress is not None:
            self.progress(self.done_rows, self.total_rows)

    def finish(self) -> None:
        """Report completion once more if the estimate of the total was too high."""
        if self.progress is not None and self.done_rows != self.total_rows:
            self.total_rows = self.done_rows
            self.progress(self.done_rows, self.total_rows)

    def run_model(self, x: torch.Tensor, kwargs: dict[str, Any]) -> Any:
        """The user's model on ``x``; every model call of the engine goes through here (counted)."""
        out = self.model(x, **kwargs)
        self.count(int(x.shape[0]) if x.dim() else 1)
        return out

    def kwargs(self, rows: torch.Tensor | None) -> dict[str, Any]:
        """Forward keyword arguments for the given rows."""
        kwargs = dict(self.static_kwargs)
        for name, value in zip(self.kwarg_names, self.batched_kwargs, strict=False):
            kwargs[name] = value if rows is None else value[rows]
        return kwargs

    def raw(self, x: torch.Tensor, rows: torch.Tensor | None = None) -> Any:
        """The model's raw output on ``x``."""
        return self.run_model(x, self.kwargs(rows))

    def logits(self, x: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """The selected ``[N, classes]`` output on ``x``."""
        return select_output(self.raw(x, rows), self.output, batch_size=x.shape[0])

    def __call__(self, x: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """Target scores ``[N]`` on ``x``."""
        return gather_scores(self.logits(x, rows), self.target, rows)

    @property
    def callable_target(self) -> bool:
        """Whether the target is a callable on the output (rather than class indices)."""
        return callable(self.target) and not isinstance(self.target, torch.Tensor)

    def captum_module(self) -> SelectedOutput:
        """An ``nn.Module`` view for Captum: ``[N, classes]``, or ``[N]`` scores for a callable target."""
        return SelectedOutput(
            self.model,
            self.output,
            self.target if self.callable_target else None,  # type: ignore[arg-type]
            self.kwarg_names,
            self.static_kwargs,
            on_rows=self.count,
        )

    def captum_target(self) -> torch.Tensor | None:
        """The ``target`` argument Captum gets (None when the module already returns scores)."""
        return None if self.callable_target else self.target  # type: ignore[return-value]

    def captum_extra_args(self) -> tuple[torch.Tensor, ...] | None:
        """Batched forward keyword arguments as Captum's ``additional_forward_args`` (expanded by Captum)."""
        return self.batched_kwargs or None


def input_gradients(scorer: Scorer, points: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
    """∇ of the target score w.r.t. ``points`` (one row per example), with a clear error if there is none."""
    points = points.detach().requires_grad_(True)
    with torch.enable_grad():
        return score_gradient(scorer(points, rows), points)


def input_gradients_and_scores(
    scorer: Scorer, points: torch.Tensor, rows: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(∇ of the target score w.r.t. ``points``, the target scores ``[N]``): one forward and backward."""
    points = points.detach().requires_grad_(True)
    with torch.enable_grad():
        scores = scorer(points, rows)
        return score_gradient(scores, points), scores.detach()


def score_gradient(scores: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """∇ of ``scores.sum()`` w.r.t. ``points`` only (``autograd.grad``: parameters' ``.grad`` untouched)."""
    if not scores.requires_grad:
        raise ValueError(
            "model: the selected output does not depend differentiably on the inputs (no gradient); "
            "check "
            "output= / target= or use a perturbation method (occlusion, feature_ablation)."
        )
    (grad,) = torch.autograd.grad(scores.sum(), points, allow_unused=True)
    if grad is None:
        raise ValueError("model: the target score does not depend on the inputs (gradient is None).")
    return grad
