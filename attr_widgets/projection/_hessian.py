"""Directions from the expected Hessian, for points where ``∇f ≈ 0``.

Hilton, A basis-invariant version of attribution (2024), §4.3.

``Π`` is replaced by half the expected Hessian made positive semi-definite by taking absolute eigenvalues,
``Π_H = ½ Q|Λ|Qᵀ`` for ``E[H_f(X)] = QΛQᵀ`` (for a PSD Hessian that is just ``½E[H]``, for an NSD one
``−½E[H]``). The Hessian enters only through Hessian-vector products ``E[H_f(X)] v`` (double backward), so for
large n nothing ``n × n`` is formed: randomized subspace iteration on the HVP operator finds the top
``rank`` eigenpairs by ``|λ|`` and ``Π_H`` is used in factored form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Literal

import torch
from torch import Tensor

from ._blocks import sample_mean, shifted_moments
from ._exact import exact_directions, solve_covariances
from ._result import Projection
from ._validate import (
    check_generator,
    check_k,
    check_nonnegative_int,
    check_rtol,
    check_samples,
    default_rtol,
    working_dtype,
)

__all__ = ["hessian_directions", "mean_hessian_vector_product", "absolute_psd"]

DENSE_MAX_N = 256


def absolute_psd(matrix: Tensor) -> Tensor:
    """``Q|Λ|Qᵀ`` for a symmetric ``QΛQᵀ`` (Hilton's fix for an indefinite expected Hessian)."""
    sym = (matrix + matrix.mT) * 0.5
    vals, vecs = torch.linalg.eigh(sym)
    return (vecs * vals.abs().unsqueeze(-2)) @ vecs.mT


def mean_hessian_vector_product(
    f: Callable[[Tensor], Tensor], acts: Tensor, vectors: Tensor, *, batch_size: int = 1024
) -> Tensor:
    """``E[H_f(X)] V``: the sample-averaged Hessian of ``f`` times ``vectors [n, l]`` (double backward).

    ``f`` maps a batch ``[b, n]`` to per-sample scalars ``[b]``; samples must not interact in ``f``.
    """
    p, n = acts.shape
    out = torch.zeros(n, vectors.shape[-1], dtype=torch.float64, device=acts.device)
    with torch.enable_grad():
        for start in range(0, p, batch_size):
            x = acts[start : start + batch_size].detach().clone().requires_grad_(True)
            y = f(x)
            if not isinstance(y, Tensor) or y.shape != (x.shape[0],):
                raise ValueError(
                    f"f must map a [b, n] batch to per-sample scalars [b]; got {getattr(y, 'shape', y)}"
                )
            (grad,) = torch.autograd.grad(y.sum(), x, create_graph=True)
            if not grad.requires_grad:  # f is affine in x: its Hessian is zero
                continue
            for j in range(vectors.shape[-1]):
                v = vectors[:, j].to(grad.dtype)
                (hv,) = torch.autograd.grad(
                    grad @ v, x, grad_outputs=torch.ones_like(y), retain_graph=True, allow_unused=True
                )
                if hv is not None:
                    out[:, j] += hv.sum(0).to(torch.float64)
    return out / p


def _top_abs_eigenpairs(
    apply: Callable[[Tensor], Tensor],
    n: int,
    rank: int,
    n_iter: int,
    oversample: int,
    generator: torch.Generator | None,
    device: torch.device,
) -> tuple[Tensor, Tensor]:
    """Top-``rank`` eigenpairs by ``|λ|`` of a symmetric operator known only through ``apply(V) = H V``."""
    width = min(n, rank + oversample)
    omega = torch.randn(n, width, generator=generator, dtype=torch.float64, device=device)
    q = torch.linalg.qr(apply(omega)).Q
    for _ in range(n_iter):
        q = torch.linalg.qr(apply(q)).Q
    small = q.mT @ apply(q)
    vals, vecs = torch.linalg.eigh((small + small.mT) * 0.5)
    order = vals.abs().argsort(descending=True)[:rank]
    return vals[order], q @ vecs[:, order]


def hessian_directions(
    acts: Tensor,
    k: int,
    *,
    f: Callable[[Tensor], Tensor] | None = None,
    hessian: Tensor | None = None,
    mode: Literal["auto", "dense", "hvp"] = "auto",
    rank: int | None = None,
    rtol: float | None = None,
    batch_size: int = 1024,
    n_iter: int = 4,
    oversample: int = 10,
    generator: torch.Generator | None = None,
) -> Projection:
    """Directions with ``Π`` replaced by ``½|E[H_f(X)]|`` (Hilton 2024, §4.3).

    Args:
        acts: ``[..., p, n]`` samples (``[p, n]`` when ``f`` is given).
        k: number of directions.
        f: per-sample scalar function ``[b, n] → [b]`` whose Hessian is averaged over ``acts``.
        hessian: the expected Hessian ``[..., n, n]`` directly (instead of ``f``).
        mode: with ``f``: ``"dense"`` builds ``E[H]`` from n HVPs; ``"hvp"`` keeps a rank-``rank`` factor of
            ``|E[H]|`` from randomized subspace iteration on HVPs (no n×n matrix); ``"auto"`` is dense for
            ``n <= 256``.
        rank: eigenpairs of ``E[H]`` kept in ``"hvp"`` mode (default ``k + oversample``).
        rtol: singular-value cutoff as in :func:`important_directions`.
        batch_size: samples per double-backward pass.
        n_iter: power iterations of the subspace iteration in ``"hvp"`` mode.
        oversample: extra sketch columns in ``"hvp"`` mode.
        generator: random generator for the ``"hvp"`` sketch.
    """
    acts = check_samples(acts, "acts")
    k = check_k(k)
    tol = check_rtol(rtol)
    n = acts.shape[-1]
    out_dtype = working_dtype(acts.dtype)
    tol = default_rtol(out_dtype, n) if tol is None else tol
    if (f is None) == (hessian is None):
        raise ValueError("pass exactly one of f (a per-sample scalar function) or hessian ([..., n, n])")
    if mode not in ("auto", "dense", "hvp"):
        raise ValueError(f"mode must be 'auto', 'dense' or 'hvp'; got {mode!r}")
    if hessian is not None:
        if not isinstance(hessian, Tensor) or not hessian.is_floating_point():
            raise TypeError("hessian must be a floating torch.Tensor of shape [..., n, n]")
        if hessian.shape != (*acts.shape[:-2], n, n) or not bool(torch.isfinite(hessian).all()):
            raise ValueError(
                f"hessian must be a finite tensor of shape {(*acts.shape[:-2], n, n)}; "
                f"got {tuple(hessian.shape)}"
            )
        return _with_dense_pi(acts, absolute_psd(hessian.to(torch.float64)) * 0.5, k, tol, out_dtype)
    assert f is not None
    if not callable(f):
        raise TypeError(f"f must be callable [b, n] -> [b]; got {type(f).__name__}")
    if acts.ndim != 2:
        raise ValueError(f"acts must have shape [p, n] when f is given; got {tuple(acts.shape)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1; got {batch_size!r}")
    if mode == "dense" or (mode == "auto" and n <= DENSE_MAX_N):
        eye = torch.eye(n, dtype=torch.float64, device=acts.device)
        mean_h = mean_hessian_vector_product(f, acts, eye, batch_size=batch_size)
        return _with_dense_pi(acts, absolute_psd(mean_h) * 0.5, k, tol, out_dtype)
    n_iter = check_nonnegative_int(n_iter, "n_iter")
    oversample = check_nonnegative_int(oversample, "oversample")
    generator = check_generator(generator, acts.device)
    m = k + oversample if rank is None else check_k(rank)
    m = min(m, n)

    def apply(v: Tensor) -> Tensor:
        return mean_hessian_vector_product(f, acts, v, batch_size=batch_size)

    vals, vecs = _top_abs_eigenpairs(apply, n, m, n_iter, oversample, generator, acts.device)
    # Π_H ≈ F Fᵀ with F = Q (|λ|/2)^½: hand the factor to the exact solver as "gradient rows" of weight 1.
    factor_rows = (vecs * (vals.abs() * 0.5).sqrt().unsqueeze(-2)).mT
    proj = exact_directions(acts, factor_rows, 1.0, k, tol, out_dtype=out_dtype)
    return _relabel(proj, "hessian-hvp")


def _with_dense_pi(acts: Tensor, pi: Tensor, k: int, tol: float, out_dtype: torch.dtype) -> Projection:
    p = acts.shape[-2]
    mean = sample_mean(acts)
    total, gram = shifted_moments(acts, mean)
    sigma = (gram - total.unsqueeze(-1) * total.unsqueeze(-2) / p) / p
    return solve_covariances(mean, sigma, pi, k, tol, out_dtype=out_dtype, n_samples=p, method="hessian")


def _relabel(proj: Projection, method: str) -> Projection:
    return replace(proj, method=method)
