"""Shared finishing steps: eigenvalue ordering, rank selection with a cutoff, sign conventions."""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from ._result import RankDeficiencyWarning

__all__ = ["eigh_descending", "select_rank", "masked_power", "normalize_signs", "symmetrize", "psd_factor"]


def symmetrize(m: Tensor) -> Tensor:
    """``(M + Mᵀ)/2``: removes the rounding asymmetry of products like ``AᵀΠA`` before ``eigh``."""
    return (m + m.mT) * 0.5


def eigh_descending(m: Tensor) -> tuple[Tensor, Tensor]:
    """Eigenvalues (clamped at 0, descending) and eigenvectors of a symmetric PSD matrix."""
    vals, vecs = torch.linalg.eigh(symmetrize(m))
    return vals.flip(-1).clamp_min(0.0), vecs.flip(-1)


def psd_factor(sigma: Tensor) -> Tensor:
    """A factor ``A`` with ``AAᵀ = Σ`` for a symmetric PSD ``Σ``.

    Cholesky is ~10x cheaper than an eigendecomposition; Hilton's result does not depend on which factor is
    used (any two differ by an orthogonal matrix), so we only fall back to ``Q Λ^½`` when Cholesky breaks down
    on a singular Σ.
    """
    chol, info = torch.linalg.cholesky_ex(sigma)
    if bool((info == 0).all()):
        return chol
    vals, vecs = eigh_descending(sigma)
    return vecs * vals.sqrt().unsqueeze(-2)


def select_rank(sigma: Tensor, k: int, rtol: float, *, warn: bool = True) -> tuple[int, Tensor]:
    """Pick ``r = min(k, numerical rank)`` from descending singular values ``[..., m]``.

    A value counts when it is positive and above ``rtol`` times the largest of its batch item. Returns ``r``
    (the largest rank over the batch, so results share one shape) and the ``[..., r]`` keep-mask; items with a
    lower rank get masked columns. Warns with :class:`RankDeficiencyWarning` when any item has rank below k.
    """
    top = sigma[..., :1]
    keep = (sigma > rtol * top) & (sigma > 0)
    keep = keep[..., :k]
    ranks = keep.sum(-1)
    r = int(ranks.max().item()) if ranks.numel() else 0
    if warn and bool((ranks < k).any()):
        low = int(ranks.min().item())
        warnings.warn(
            RankDeficiencyWarning(
                f"k={k} directions were requested but GᵀA has numerical rank {low} (singular values below "
                f"rtol={rtol:.3g} times the largest are dropped); returning {r} direction(s)"
                + (" with zero-padded columns for lower-rank batch items" if low < r else "")
            ),
            stacklevel=3,
        )
    return r, keep[..., :r]


def masked_power(sigma: Tensor, keep: Tensor, exponent: float) -> Tensor:
    """``σ^exponent`` where kept, 0 elsewhere (never divides by a dropped singular value)."""
    safe = torch.where(keep, sigma, torch.ones_like(sigma))
    return torch.where(keep, safe.pow(exponent), torch.zeros_like(sigma))


def normalize_signs(act_basis: Tensor, grad_basis: Tensor) -> tuple[Tensor, Tensor]:
    """Flip column pairs so the largest-magnitude entry of each ``P_A`` column is positive.

    Singular vectors are defined up to a joint sign; ``P = P_A P_Gᵀ`` does not care, but sliders and tests
    comparing bases across methods do.
    """
    if act_basis.shape[-1] == 0:
        return act_basis, grad_basis
    idx = act_basis.abs().argmax(-2, keepdim=True)
    sign = torch.sign(act_basis.gather(-2, idx))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    return act_basis * sign, grad_basis * sign
