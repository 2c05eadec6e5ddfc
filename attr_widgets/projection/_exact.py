"""Hilton's algorithm (§2), computed exactly in float64 along the cheaper of two routes.

From Hilton, A basis-invariant version of attribution (2024).

Notation: ``A`` and ``G`` factor ``Σ = AAᵀ`` and ``Π = GGᵀ``; ``σ`` are the singular values of ``M = GᵀA``.
Both routes form the symmetric ``K = MᵀM = AᵀΠA`` (or ``MMᵀ``) in float64 and read ``σ² `` off its
eigenvalues, then return ``P_A = A V σ^-½`` and ``P_G = G U σ^-½ = Π P_A / σ`` (Hilton's relation
``P_G ∝ Π P_A``), so ``G`` itself is never needed.

* data route (``A = Xcᵀ/√p`` and ``G = Dᵀ√w``, Hilton's "take A and G to be the centred activations and
  gradients directly"): ``K`` is ``min(p, q) × min(p, q)``; cost ``O(npq)``. Used when samples are fewer than
  features.
* covariance route: ``Σ`` and ``Π`` are ``n × n`` float64 moments, ``A`` a Cholesky factor of ``Σ``; cost
  ``O((p + q) n² + n³)``. Used when samples outnumber features.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._blocks import sample_mean, second_moment, shifted_moments
from ._result import Projection
from ._spectral import eigh_descending, masked_power, normalize_signs, psd_factor, select_rank, symmetrize

__all__ = ["exact_directions", "solve_covariances"]


def solve_covariances(
    mean: Tensor,
    sigma: Tensor,
    pi: Tensor | None,
    k: int,
    rtol: float,
    *,
    out_dtype: torch.dtype,
    n_samples: int,
    method: str,
) -> Projection:
    """The covariance route from ``μ [..., n]``, ``Σ`` and ``Π`` ``[..., n, n]`` (``Π = None``: PCA)."""
    sigma = symmetrize(sigma.to(torch.float64))
    if pi is None:
        # PCA: GᵀA = A, so σ² are the eigenvalues of Σ and P = QQᵀ (P_A = Qσ^½, P_G = Qσ^-½).
        sv, vecs, keep = _top_spectrum(sigma, k, rtol)
        act = vecs * masked_power(sv, keep, 0.5).unsqueeze(-2)
        grad = vecs * masked_power(sv, keep, -0.5).unsqueeze(-2)
    else:
        pi = symmetrize(pi.to(torch.float64))
        a = psd_factor(sigma)
        sv, vecs, keep = _top_spectrum(a.mT @ pi @ a, k, rtol)
        act = (a @ vecs) * masked_power(sv, keep, -0.5).unsqueeze(-2)
        grad = (pi @ act) * masked_power(sv, keep, -1.0).unsqueeze(-2)
    return _package(act, grad, sv * keep, mean, out_dtype, n_samples, method)


def exact_directions(
    acts: Tensor,
    grad_rows: Tensor | None,
    grad_weight: float,
    k: int,
    rtol: float,
    *,
    out_dtype: torch.dtype,
) -> Projection:
    """Exact directions for samples ``acts [..., p, n]`` and gradient rows ``grad_rows [..., q, n]``.

    ``Π = grad_weight · Dᵀ D`` (``1/p`` for gradients, ``1/p`` over ``p·m`` Jacobian rows for vector f);
    ``grad_rows=None`` means ``Π = I``.
    """
    p, n = acts.shape[-2], acts.shape[-1]
    q = n if grad_rows is None else grad_rows.shape[-2]
    mean = sample_mean(acts)
    # Rough flop counts of the two routes; the data route also wins ties because it skips two n×n eighs.
    if grad_rows is None:
        data_cost, cov_cost = p * p * n + p**3, p * n * n + n**3
    else:
        small = min(p, q)
        data_cost = p * q * n + small * small * max(p, q) + small**3
        cov_cost = (p + q) * n * n + 3 * n**3
    if data_cost <= cov_cost:
        return _data_route(acts, mean, grad_rows, grad_weight, k, rtol, out_dtype)
    total, gram = shifted_moments(acts, mean)
    sigma = (gram - total.unsqueeze(-1) * total.unsqueeze(-2) / p) / p
    pi = None if grad_rows is None else second_moment(grad_rows) * grad_weight
    return solve_covariances(mean, sigma, pi, k, rtol, out_dtype=out_dtype, n_samples=p, method="exact")


def _data_route(
    acts: Tensor,
    mean: Tensor,
    grad_rows: Tensor | None,
    grad_weight: float,
    k: int,
    rtol: float,
    out_dtype: torch.dtype,
) -> Projection:
    p = acts.shape[-2]
    wx = 1.0 / p
    xc = acts.to(torch.float64) - mean.unsqueeze(-2)
    if grad_rows is None:
        sv, vecs, keep = _top_spectrum((xc @ xc.mT) * wx, k, rtol)
        act = (xc.mT @ vecs) * (math.sqrt(wx) * masked_power(sv, keep, -0.5)).unsqueeze(-2)
        grad = act * masked_power(sv, keep, -1.0).unsqueeze(-2)
        return _package(act, grad, sv * keep, mean, out_dtype, p, "exact")
    d = grad_rows.to(torch.float64)
    cross = d @ xc.mT  # M = GᵀA up to the scalar sqrt(wx * wd); shape [..., q, p]
    scale = wx * grad_weight
    if d.shape[-2] < p:
        sv, vecs, keep = _top_spectrum((cross @ cross.mT) * scale, k, rtol)
        grad = (d.mT @ vecs) * (math.sqrt(grad_weight) * masked_power(sv, keep, -0.5)).unsqueeze(-2)
        act = (xc.mT @ (xc @ grad)) * (wx * masked_power(sv, keep, -1.0)).unsqueeze(-2)
    else:
        sv, vecs, keep = _top_spectrum((cross.mT @ cross) * scale, k, rtol)
        act = (xc.mT @ vecs) * (math.sqrt(wx) * masked_power(sv, keep, -0.5)).unsqueeze(-2)
        grad = (d.mT @ (d @ act)) * (grad_weight * masked_power(sv, keep, -1.0)).unsqueeze(-2)
    return _package(act, grad, sv * keep, mean, out_dtype, p, "exact")


def _top_spectrum(gram: Tensor, k: int, rtol: float) -> tuple[Tensor, Tensor, Tensor]:
    """The kept singular values ``σ = √eig(K)`` of a PSD ``K = MᵀM``, their eigenvectors, and the keep mask.

    Truncated to ``r = min(k, numerical rank)`` columns; ``keep`` zeroes those below the ``rtol`` cutoff.
    """
    vals, vecs = eigh_descending(gram)
    sv = vals.sqrt()
    r, keep = select_rank(sv, k, rtol)
    return sv[..., :r], vecs[..., :r], keep


def _package(
    act: Tensor, grad: Tensor, sv: Tensor, mean: Tensor, out_dtype: torch.dtype, n_samples: int, method: str
) -> Projection:
    act, grad = normalize_signs(act, grad)
    return Projection(
        act_basis=act.to(out_dtype),
        grad_basis=grad.to(out_dtype),
        singular_values=sv.to(out_dtype),
        mean=mean.to(out_dtype),
        method=method,
        n_samples=n_samples,
    )
