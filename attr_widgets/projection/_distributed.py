"""All-reduce of the streaming statistics across a ``torch.distributed`` process group.

Each rank holds ``(count_r, μ_r, M2_r = Σ_i (x_i − μ_r)(x_i − μ_r)ᵀ, S_r = Σ_i d_i d_iᵀ)`` for its shard.
Plain sums of ``M2_r`` would be wrong (each is centred on its own mean), so merging takes two
reductions: first ``Σ count_r`` and ``Σ count_r μ_r`` give the global mean ``μ``; then every rank
re-centres its ``M2_r`` on ``μ`` (``M2_r + count_r (μ_r − μ)(μ_r − μ)ᵀ``, Chan et al.'s parallel update)
and the sums are exact.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["distributed_ready", "all_reduce_moments", "all_ranks_agree", "any_rank"]


def distributed_ready() -> bool:
    """Whether a default ``torch.distributed`` process group is initialised in this process."""
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def all_reduce_moments(
    count: int, mean: Tensor, m2: Tensor, grad_gram: Tensor | None, group: Any = None
) -> tuple[int, Tensor, Tensor, Tensor | None]:
    """Combine per-rank ``(count, mean, M2, grad_gram)`` into the statistics of the union of all shards.

    Every rank must call this (it is a collective) with tensors of the same shapes, dtype float64.
    """
    dist = torch.distributed
    head = torch.cat(
        [torch.tensor([float(count)], dtype=torch.float64, device=mean.device), (mean * count).flatten()]
    )
    dist.all_reduce(head, op=dist.ReduceOp.SUM, group=group)
    total = int(round(head[0].item()))
    if total == 0:
        raise ValueError("no rank has any samples; feed the accumulator before asking for a result")
    global_mean = (head[1:] / total).reshape(mean.shape)
    delta = mean - global_mean if count else torch.zeros_like(mean)
    recentred = m2 + count * (delta.unsqueeze(-1) * delta.unsqueeze(-2))
    parts = [recentred.flatten()] + ([grad_gram.flatten()] if grad_gram is not None else [])
    body = torch.cat(parts)
    dist.all_reduce(body, op=dist.ReduceOp.SUM, group=group)
    size = recentred.numel()
    m2_all = body[:size].reshape(m2.shape)
    grad_all = None if grad_gram is None else body[size:].reshape(grad_gram.shape)
    return total, global_mean, m2_all, grad_all


def all_ranks_agree(flag: bool, device: torch.device, group: Any = None) -> bool:
    """True only if ``flag`` holds on every rank (MIN all-reduce: no rank is left waiting in a collective)."""
    dist = torch.distributed
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN, group=group)
    return bool(t.item() == 1.0)


def any_rank(flag: bool, device: torch.device, group: Any = None) -> bool:
    """True if ``flag`` holds on at least one rank (MAX all-reduce)."""
    dist = torch.distributed
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX, group=group)
    return bool(t.item() == 1.0)
