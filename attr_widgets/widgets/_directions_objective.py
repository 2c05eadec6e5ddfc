"""The objective curves of DirectionsWidget: how much of f a rank-k projection loses, k = 0..K.

Two estimates of ``E[(f(X) − f(μ + P_k(X − μ)))²]`` (Hilton, "A basis-invariant version of
attribution", 2024): the first-order one the directions minimise, exact from the collected samples with no
forward pass, and the objective itself for the real (nonlinear) f, by forward passes over a fixed subsample.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from attr_widgets.projection import Projection


def _centred_scaled(acts: Tensor, grads: Tensor, mean: Tensor) -> tuple[Tensor, Tensor]:
    """``(A, G)`` with ``AᵀA = Σ`` and ``GᵀG = Π`` (rows are samples, scaled by 1/√p)."""
    p = acts.shape[0]
    dtype = torch.float64 if acts.dtype == torch.float64 else torch.float32
    return (acts - mean.to(acts.dtype)).to(dtype) / p**0.5, grads.to(dtype) / p**0.5


def linearised_total(acts: Tensor, grads: Tensor, mean: Tensor) -> float:
    """``tr(ΠΣ) = ‖G Aᵀ‖²``: the objective with nothing kept, through the smaller pair of Gram matrices."""
    a, g = _centred_scaled(acts, grads, mean)
    gram_g, gram_a = (g.T @ g, a.T @ a) if a.shape[1] <= a.shape[0] else (g @ g.T, a @ a.T)
    return float((gram_g * gram_a).sum())


def linearised_objective(acts: Tensor, grads: Tensor, projection: Projection, total: float) -> list[float]:
    """``tr(Π (I − P_k) Σ (I − P_k)ᵀ)`` for k = 0..r: the first-order objective the directions minimise.

    Exact from the collected samples (no forward passes): the residual of ``f`` is linearised with every
    sample's gradient standing for ``Π`` and every activation for ``Σ`` (Hilton's approximation); for a
    linear ``f`` it is exactly ``E[(f(X) − f(μ + P_k(X − μ)))²]``. ``total`` is :func:`linearised_total`
    (``O(p·n·min(p, n))``, shared by every basis); the rest costs ``O(p·n·r)``.
    """
    a, g = _centred_scaled(acts, grads, projection.mean)
    dtype = a.dtype
    u = g @ projection.act_basis.to(dtype)  # [p, r]
    v = a @ projection.grad_basis.to(dtype)  # [p, r]
    cross = torch.diagonal((u.T @ g) @ (a.T @ v)).double().cumsum(0)  # tr(U_kᵀ G Aᵀ V_k)
    uu, vv = (u.T @ u).double(), (v.T @ v).double()
    values = [total]
    for k in range(1, u.shape[1] + 1):
        values.append(total - 2 * float(cross[k - 1]) + float((uu[:k, :k] * vv[:k, :k]).sum()))
    return [max(value, 0.0) for value in values]


def truncated(projection: Projection, k: int) -> Projection:
    """The rank-k projection of the first k directions (the SVD's solutions are nested)."""
    return replace(
        projection,
        act_basis=projection.act_basis[:, :k],
        grad_basis=projection.grad_basis[:, :k],
        singular_values=projection.singular_values[:k],
    )
