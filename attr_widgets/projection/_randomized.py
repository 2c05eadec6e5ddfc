"""Randomized subspace iteration on ``M = GᵀA`` in factored form, ``O(npk)``.

Hilton, A basis-invariant version of attribution (2024), §4.1.

``A = Xcᵀ/√p`` and ``G = Dᵀ√w`` are the centred activations and the gradient rows themselves, so ``M`` is
``q × p``; it is only ever touched through ``MΩ = G ᵀ(AΩ)`` and ``MᵀQ = Aᵀ(GQ)``, i.e. products of the data
with thin ``· × l`` matrices (``l = k + oversample``). Nothing ``n × n`` or ``p × p`` is formed.

Extra memory: ``O((p + q + n)·l)`` for the thin matrices plus one :data:`~._blocks.BLOCK_ELEMENTS` buffer for
the blocked centring, on top of the inputs and the ``[n, r]`` outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ._blocks import centered_matmul, centered_t_matmul, sample_mean
from ._result import Projection
from ._spectral import masked_power, normalize_signs, select_rank

__all__ = ["randomized_directions"]


@dataclass(frozen=True)
class _CrossOperator:
    """``M = GᵀA`` with ``A = (X − μ)ᵀ·sa`` and ``G = Dᵀ·sg``."""

    x: Tensor
    mean: Tensor
    d: Tensor
    sa: float
    sg: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.d.shape[-2], self.x.shape[-2]

    def mv(self, w: Tensor) -> Tensor:  # [..., p, l] -> [..., q, l]
        return (self.d @ centered_t_matmul(self.x, self.mean, w)) * (self.sa * self.sg)

    def rmv(self, z: Tensor) -> Tensor:  # [..., q, l] -> [..., p, l]
        return centered_matmul(self.x, self.mean, self.d.mT @ z) * (self.sa * self.sg)

    def act(self, v: Tensor) -> Tensor:  # A v: [..., p, r] -> [..., n, r]
        return centered_t_matmul(self.x, self.mean, v) * self.sa

    def grad(self, u: Tensor) -> Tensor:  # G u: [..., q, r] -> [..., n, r]
        return (self.d.mT @ u) * self.sg


@dataclass(frozen=True)
class _PCAOperator:
    """``M = A`` (``Π = I``, so ``G = I``)."""

    x: Tensor
    mean: Tensor
    sa: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.x.shape[-1], self.x.shape[-2]

    def mv(self, w: Tensor) -> Tensor:  # [..., p, l] -> [..., n, l]
        return centered_t_matmul(self.x, self.mean, w) * self.sa

    def rmv(self, z: Tensor) -> Tensor:  # [..., n, l] -> [..., p, l]
        return centered_matmul(self.x, self.mean, z) * self.sa

    def act(self, v: Tensor) -> Tensor:
        return centered_t_matmul(self.x, self.mean, v) * self.sa

    def grad(self, u: Tensor) -> Tensor:
        return u


def _orthonormal(y: Tensor) -> Tensor:
    return torch.linalg.qr(y, mode="reduced").Q


def randomized_directions(
    acts: Tensor,
    grad_rows: Tensor | None,
    grad_weight: float,
    k: int,
    rtol: float,
    *,
    oversample: int,
    n_iter: int,
    generator: torch.Generator | None,
    out_dtype: torch.dtype,
) -> Projection:
    """Halko et al. (2011) Algorithm 4.4 (randomized subspace iteration) on the factored ``GᵀA``.

    Works in the inputs' dtype; ``μ`` is summed in float64. Each of the ``n_iter`` power iterations makes two
    passes over the activations and two over the gradients and re-orthonormalises (QR), which is what keeps
    the iteration stable in float32.
    """
    dtype = out_dtype
    x = acts.to(dtype)
    p = x.shape[-2]
    mean64 = sample_mean(acts)
    op: _CrossOperator | _PCAOperator
    if grad_rows is None:
        op = _PCAOperator(x, mean64, 1.0 / math.sqrt(p))
    else:
        op = _CrossOperator(x, mean64, grad_rows.to(dtype), 1.0 / math.sqrt(p), math.sqrt(grad_weight))
    rows, cols = op.shape
    width = min(k + oversample, rows, cols)
    omega = torch.randn(*x.shape[:-2], cols, width, generator=generator, dtype=dtype, device=x.device)
    q = _orthonormal(op.mv(omega))
    for _ in range(n_iter):
        q = _orthonormal(op.mv(_orthonormal(op.rmv(q))))
    # B = QᵀM is width × cols; take the SVD of its transpose (tall and thin), Bᵀ = V S Wᵀ, so U = Q W.
    v, sv, wh = torch.linalg.svd(op.rmv(q), full_matrices=False)
    u = q @ wh.mT
    r, keep = select_rank(sv, k, rtol)
    sv, u, v = sv[..., :r], u[..., :r], v[..., :r]
    inv_sqrt = masked_power(sv, keep, -0.5).unsqueeze(-2)
    act = op.act(v) * inv_sqrt
    grad = op.grad(u) * inv_sqrt
    act, grad = normalize_signs(act, grad)
    return Projection(
        act_basis=act,
        grad_basis=grad,
        singular_values=sv * keep,
        mean=mean64.to(dtype),
        method="randomized",
        n_samples=p,
    )
