"""Shared builders for the projection tests: synthetic samples and float64 reference statistics."""

from __future__ import annotations

import math

import torch
from torch import Tensor

F64 = torch.float64


def mixing(n: int, gen: torch.Generator, low: float = 0.3, high: float = 3.0, dtype=F64) -> Tensor:
    """A random n×n matrix, singular values log-uniform in [low, high] (well conditioned, not orthogonal)."""
    q1, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=F64))
    q2, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=F64))
    s = torch.exp(torch.empty(n, dtype=F64).uniform_(math.log(low), math.log(high), generator=gen))
    return ((q1 * s) @ q2.mT).to(dtype)


def problem(p: int, n: int, seed: int, *, dtype=F64, offset: float = 2.0) -> tuple[Tensor, Tensor]:
    """Correlated activations (with a non-zero mean) and gradients, both full rank."""
    gen = torch.Generator().manual_seed(seed)
    acts = torch.randn(p, n, generator=gen, dtype=F64) @ mixing(n, gen) + offset
    grads = torch.randn(p, n, generator=gen, dtype=F64) @ mixing(n, gen) + 0.3 * acts
    return acts.to(dtype), grads.to(dtype)


def low_rank(p: int, n: int, rank: int, seed: int, *, dtype=F64, offset: float = 1.0) -> Tensor:
    """Samples of exact rank ``rank`` (after centring)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(p, rank, generator=gen, dtype=F64)
    return (z @ torch.randn(rank, n, generator=gen, dtype=F64) + offset).to(dtype)


def moments(acts: Tensor, grads: Tensor | None) -> tuple[Tensor, Tensor, Tensor | None]:
    """Float64 ``μ``, ``Σ`` and ``Π`` straight from the seed's definitions."""
    a = acts.to(F64)
    mu = a.mean(-2)
    xc = a - mu.unsqueeze(-2)
    sigma = xc.mT @ xc / a.shape[-2]
    pi = None if grads is None else grads.to(F64).mT @ grads.to(F64) / a.shape[-2]
    return mu, sigma, pi


def psd_sqrt_factor(m: Tensor) -> Tensor:
    """``Q Λ^½`` with ``(QΛ^½)(QΛ^½)ᵀ = M``: the seed's step-3 factor."""
    vals, vecs = torch.linalg.eigh(m)
    return vecs * vals.clamp_min(0).sqrt()


def psd_power(m: Tensor, power: float) -> Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return (vecs * vals.clamp_min(1e-300).pow(power)) @ vecs.mT


def rel(a: Tensor, b: Tensor) -> float:
    """Max-abs difference relative to the larger max-abs entry."""
    scale = max(a.abs().max().item(), b.abs().max().item(), 1e-300)
    return (a - b).abs().max().item() / scale


def linearised_objective(p_mat: Tensor, sigma: Tensor, pi: Tensor) -> Tensor:
    """The seed's approximate objective ``tr((I − P)Σ(I − P)ᵀΠ)``."""
    eye = torch.eye(p_mat.shape[-1], dtype=p_mat.dtype)
    r = eye - p_mat
    return torch.einsum("ij,jk,lk,li->", r, sigma, r, pi)


def peak_torch_bytes(fn) -> tuple[int, object]:
    """Peak bytes held by torch CPU allocations made while ``fn`` runs (profiler memory events in order).

    Unlike a TorchDispatchMode this also sees buffers allocated inside kernels, e.g. the float64 copy that
    ``x.sum(dtype=torch.float64)`` makes of a float32 ``x``.
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        out = fn()
    events = sorted(
        (e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"
    )
    live = peak = 0
    for _, nbytes in events:
        live += nbytes
        peak = max(peak, live)
    return peak, out
