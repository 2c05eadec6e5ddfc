"""Integrated Gradients with our own quadrature, chunking and accuracy-driven refinement."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ._batching import ChunkRunner
from ._quadrature import nodes, refinements
from ._values import per_example_sums

# gradient_fn(points, rows) -> ∇f at points; rows[i] is the example point i belongs to.
GradientFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# Relative tolerance floor: |f(x) - f(b)| below this counts as this (avoids dividing by ~0).
_TINY = 1e-12


@dataclass
class PathResult:
    """Values and bookkeeping of one path-integral attribution."""

    values: torch.Tensor  # (x − b) · mean gradient: the global attribution, complete
    steps: torch.Tensor  # [B] nodes of the final rule per example
    evaluations: torch.Tensor  # [B] gradient evaluations spent per example
    gradients: torch.Tensor  # ∫∇f(b + α(x − b))dα: the local attribution (multiply_by_inputs=False)


def _bshape(vector: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return vector.reshape(-1, *([1] * (like.dim() - 1)))


def weighted_gradient_sum(
    gradient_fn: GradientFn,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    alphas: np.ndarray,
    weights: np.ndarray,
    examples: torch.Tensor,
    runner: ChunkRunner,
) -> torch.Tensor:
    """``Σ_k w_k ∇f(b + α_k (x − b))`` for the given examples, evaluated in chunks of rows.

    Rows enumerate (node, example) pairs node-major, so a chunk holds whole nodes when it can.
    """
    device, dtype = inputs.device, inputs.dtype
    alpha_t = torch.as_tensor(alphas, dtype=dtype, device=device)
    weight_t = torch.as_tensor(weights, dtype=dtype, device=device)
    x, b = inputs[examples], baselines[examples]
    diff = x - b
    count = len(examples)
    total = torch.zeros_like(x)
    full_batch = count == inputs.shape[0]

    local_rows = examples if not full_batch else torch.arange(count, device=device)

    def work(start: int, stop: int) -> None:
        if start % count == 0 and stop % count == 0:
            # Whole nodes: broadcast instead of gathering rows (the common case, and the fastest).
            first, last = start // count, stop // count
            nodes = last - first
            scale = alpha_t[first:last].reshape(nodes, *([1] * x.dim()))
            points = (b.unsqueeze(0) + scale * diff.unsqueeze(0)).reshape(nodes * count, *x.shape[1:])
            grads = gradient_fn(points, local_rows.repeat(nodes))
            weight = weight_t[first:last].reshape(nodes, *([1] * x.dim()))
            total.add_((grads.reshape(nodes, *x.shape) * weight).sum(dim=0))
            return
        index = torch.arange(start, stop, device=device)
        node, local = index // count, index % count
        scale = _bshape(alpha_t[node], x)
        points = b[local] + scale * diff[local]
        grads = gradient_fn(points, local_rows[local])
        total.index_add_(0, local, grads * _bshape(weight_t[node], grads))

    runner.run(len(alphas) * count, work)
    return total


def integrated_gradients(
    gradient_fn: GradientFn,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    *,
    n_steps: int,
    rule: str,
    runner: ChunkRunner,
) -> PathResult:
    """IG with ``n_steps`` nodes of ``rule`` for all examples."""
    alphas, weights = nodes(rule, n_steps)
    examples = torch.arange(inputs.shape[0], device=inputs.device)
    grads = weighted_gradient_sum(gradient_fn, inputs, baselines, alphas, weights, examples, runner)
    steps = torch.full((inputs.shape[0],), n_steps, dtype=torch.long)
    return PathResult(grads * (inputs - baselines), steps, steps.clone(), grads)


def integrated_gradients_to_tolerance(
    gradient_fn: GradientFn,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    *,
    rule: str,
    gap: torch.Tensor,
    tol: float,
    max_steps: int,
    start: int,
    runner: ChunkRunner,
) -> PathResult:
    """Refine IG per example until ``|delta| ≤ tol·|f(x) − f(b)|`` or the rule would exceed ``max_steps``.

    ``gap`` is ``f(x) − f(b)`` per example. Converged examples are frozen; only the others are refined, and
    nested rules add only the new nodes of each level (earlier gradients stay in per-group sums).
    """
    batch = inputs.shape[0]
    device = inputs.device
    diff = inputs - baselines
    estimate = torch.zeros_like(inputs)
    group_sums: dict[int, torch.Tensor] = {}
    steps = torch.zeros(batch, dtype=torch.long)
    evaluations = torch.zeros(batch, dtype=torch.long)
    threshold = tol * gap.abs().clamp_min(_TINY)
    active = torch.arange(batch, device=device)
    for level_index, level in enumerate(refinements(rule, start)):
        if level.n > max_steps and level_index > 0:
            break
        if level.fresh:
            estimate[active] = weighted_gradient_sum(
                gradient_fn,
                inputs,
                baselines,
                level.new_alphas,
                level.group_weights[level.new_groups],
                active,
                runner,
            )
        else:
            for group in np.unique(level.new_groups):
                chosen = level.new_alphas[level.new_groups == group]
                part = weighted_gradient_sum(
                    gradient_fn, inputs, baselines, chosen, np.ones(len(chosen)), active, runner
                )
                sums = group_sums.setdefault(int(group), torch.zeros_like(inputs))
                sums[active] += part
            estimate[active] = sum(
                float(weight) * group_sums[g][active]
                for g, weight in enumerate(level.group_weights)
                if g in group_sums
            )
        cpu_active = active.cpu()
        steps[cpu_active] = level.n
        evaluations[cpu_active] += len(level.new_alphas)
        values = estimate[active] * diff[active]
        delta = per_example_sums(values) - gap[active]
        active = active[delta.abs() > threshold[active]]
        if len(active) == 0:
            break
    return PathResult(estimate * diff, steps, evaluations, estimate)
