"""Adaptive Integrated Gradients: Simpson panels that are split where the model changes along the path.

IG's completeness (Sundararajan, Taly and Yan, "Axiomatic Attribution for Deep Networks", 2017) holds on every
piece of the path, not only on the whole: for the interval ``[a, c]`` of α,
``∫_a^c ∇f(b + α(x − b))·(x − b) dα = f(b + c(x − b)) − f(b + a(x − b))``. Each forward pass of the
refinement yields f at its node for free, so the error of Simpson's rule on every panel ``(a, m, c)`` is
known exactly for this scalar (``e_p`` below), not estimated, and the panels' errors add up to the
completeness delta of the whole path. The rule splits the panels that hold the error until
``Σ|e_p| ≤ tol·|f(x) − f(b)|`` — a bound on |delta| that cancellation between panels cannot fake (a
Gauss–Legendre rule whose delta happens to vanish on a coarse grid stops too early) — so a model whose
output changes in a narrow part of the path (a saturating classifier, a transformer) spends its nodes there.

The result is a composite Simpson rule on a non-uniform grid: weights are positive and sum to 1, so it is an
IG estimate like any fixed rule, with other nodes. Every node's gradient is kept until the end (memory: one
input-sized tensor per node and example; ``max_steps`` bounds it).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._batching import ChunkRunner
from ._integrated import PathResult

# scored_fn(points, rows) -> (∇f at points, f at points [N]); rows[i] is the example point i belongs to.
ScoredGradientFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

# The first grid: quarters of the path. Coarser grids see too little of f to place nodes (an interval whose
# f rises and falls back has a small e_i by cancellation), finer ones spend nodes where f is flat.
START = (0.0, 0.25, 0.5, 0.75, 1.0)
_TINY = 1e-12


class _Path:
    """One example's path: nodes (α → gradient, its dot with x − b, f) and Simpson panels ``(a, m, c)``."""

    def __init__(self) -> None:
        self.nodes: dict[float, tuple[torch.Tensor, float, float]] = {}
        self.panels: list[tuple[float, float, float]] = [(0.0, 0.25, 0.5), (0.5, 0.75, 1.0)]

    def panel_errors(self) -> list[float]:
        """``e_p``: Simpson's integral of ∇f·(x − b) over panel p minus f's change over it."""
        errors = []
        for a, m, c in self.panels:
            (_, da, fa), (_, dm, _), (_, dc, fc) = self.nodes[a], self.nodes[m], self.nodes[c]
            errors.append((c - a) / 6 * (da + 4 * dm + dc) - (fc - fa))
        return errors

    def split(self, index: int) -> tuple[float, float]:
        """Replace panel ``index`` by its two halves; returns the two new nodes to evaluate."""
        a, m, c = self.panels[index]
        left, right = (a + m) / 2, (m + c) / 2
        self.panels[index : index + 1] = [(a, left, m), (m, right, c)]
        return left, right

    def mean_gradient(self) -> torch.Tensor:
        """Σ over panels of ``(c − a)/6 · (∇f(a) + 4∇f(m) + ∇f(c))``: positive weights summing to 1."""
        total = torch.zeros_like(next(iter(self.nodes.values()))[0])
        for a, m, c in self.panels:
            width = c - a
            total.add_(self.nodes[a][0], alpha=width / 6)
            total.add_(self.nodes[m][0], alpha=4 * width / 6)
            total.add_(self.nodes[c][0], alpha=width / 6)
        return total


def adaptive_integrated_gradients(
    scored_fn: ScoredGradientFn,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    *,
    tol: float,
    max_steps: int,
    runner: ChunkRunner,
) -> PathResult:
    """IG per example on a grid refined until ``Σ|e_i| ≤ tol·|f(x) − f(b)|`` or ``max_steps`` nodes.

    Every round splits, per unfinished example, the fewest worst panels that hold the excess error, and
    evaluates the new nodes of all examples in one chunked call.
    """
    batch = inputs.shape[0]
    device = inputs.device
    diff = inputs - baselines
    paths = [_Path() for _ in range(batch)]
    pending: list[tuple[int, float]] = [(e, a) for a in START for e in range(batch)]
    if max_steps < len(START):
        raise ValueError(
            f"max_steps must be at least {len(START)} for integration='adaptive', got {max_steps}."
        )
    while pending:
        _evaluate(scored_fn, inputs, baselines, diff, pending, paths, runner)
        pending = []
        for example, path in enumerate(paths):
            errors = path.panel_errors()
            gap = abs(path.nodes[1.0][2] - path.nodes[0.0][2])
            budget = tol * max(gap, _TINY)
            if sum(abs(e) for e in errors) <= budget:
                continue
            room = (max_steps - len(path.nodes)) // 2  # a split adds two nodes
            chosen = _fewest_splits(errors, budget)[:room]
            for i in sorted(chosen, reverse=True):  # from the right: earlier indices stay valid
                pending.extend((example, alpha) for alpha in path.split(i))
    mean = torch.stack([path.mean_gradient() for path in paths]).to(device)
    steps = torch.tensor([len(path.nodes) for path in paths], dtype=torch.long)
    return PathResult(mean * diff, steps, steps.clone(), mean)


def _fewest_splits(errors: list[float], budget: float) -> list[int]:
    """The panels to split: the worst first, as few as would bring ``Σ|e|`` within ``budget``.

    As if a split panel were exact afterwards; it is not quite, and the next round splits again where needed.
    """
    worst = sorted(range(len(errors)), key=lambda i: -abs(errors[i]))
    remaining = sum(abs(e) for e in errors)
    chosen = []
    for i in worst:
        if remaining <= budget:
            break
        chosen.append(i)
        remaining -= abs(errors[i])
    return chosen


def _evaluate(
    scored_fn: ScoredGradientFn,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    diff: torch.Tensor,
    pending: list[tuple[int, float]],
    paths: list[_Path],
    runner: ChunkRunner,
) -> None:
    """Gradients and scores at the (example, α) pairs of ``pending``, inserted into their paths."""
    device, dtype = inputs.device, inputs.dtype
    rows = torch.tensor([e for e, _ in pending], dtype=torch.long, device=device)
    alphas = torch.tensor([a for _, a in pending], dtype=dtype, device=device)

    def work(start: int, stop: int) -> None:
        chosen, alpha = rows[start:stop], alphas[start:stop]
        scale = alpha.reshape(-1, *([1] * (inputs.dim() - 1)))
        points = baselines[chosen] + scale * diff[chosen]
        grads, scores = scored_fn(points, chosen)
        dots = (grads * diff[chosen]).flatten(1).sum(1).tolist()
        for k, (example, a) in enumerate(pending[start:stop]):
            paths[example].nodes[a] = (grads[k].detach(), float(dots[k]), float(scores[k]))

    runner.run(len(pending), work)
