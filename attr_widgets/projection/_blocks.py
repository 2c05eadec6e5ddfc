"""Row-blocked products over ``[..., p, n]`` sample tensors.

Two families:

* float64 moments (``shifted_moments``, ``second_moment``): the covariance route and the streaming accumulator
  form ``Σ`` and ``Π`` with float64 products, because that route squares the data and float32 products would
  put a ``sqrt(eps32) ≈ 3e-4`` relative noise floor under the singular values.
* centred products in the input dtype (``centered_t_matmul``, ``centered_matmul``): the randomized method
  multiplies ``X − μ`` by thin matrices without ever materialising the centred ``p × n`` copy; subtracting the
  mean block by block keeps full precision (unlike ``Xᵀw − μ·Σw``, which cancels catastrophically when
  ``|μ| ≫ std``) at the cost of one cache-sized buffer.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "BLOCK_ELEMENTS",
    "MOMENT_BLOCK_ELEMENTS",
    "block_rows_for",
    "centered_matmul",
    "centered_t_matmul",
    "sample_mean",
    "second_moment",
    "shifted_moments",
]

# ~4 MiB of float32 / 8 MiB of float64 per block: large enough for an efficient GEMM, small enough to stay in
# cache, and the bound on the extra memory every blocked routine uses.
BLOCK_ELEMENTS = 1 << 20


def block_rows_for(n: int, batch: int = 1) -> int:
    """Rows per block so that one block holds about :data:`BLOCK_ELEMENTS` numbers."""
    return max(1, BLOCK_ELEMENTS // max(1, n * batch))


def _batch_numel(x: Tensor) -> int:
    out = 1
    for d in x.shape[:-2]:
        out *= int(d)
    return out


def sample_mean(x: Tensor) -> Tensor:
    """The float64 mean over the sample dim of ``x [..., p, n]``, summed block by block.

    ``x.sum(-2, dtype=torch.float64)`` would first cast the whole tensor, doubling the memory of a float32
    input; summing cache-sized blocks in float64 costs one block.
    """
    p, n = x.shape[-2], x.shape[-1]
    if x.dtype == torch.float64:
        return x.mean(-2)
    rows = block_rows_for(n, _batch_numel(x))
    total = torch.zeros(*x.shape[:-2], n, dtype=torch.float64, device=x.device)
    for start in range(0, p, rows):
        total += x[..., start : start + rows, :].sum(-2, dtype=torch.float64)
    return total / p


# float64 GEMMs want a longer inner dimension than the cache-sized centring buffers to run at full speed.
MOMENT_BLOCK_ELEMENTS = 1 << 21
# A Gram matrix is symmetric: with its columns in T groups only the T(T+1)/2 upper tiles need a GEMM
# (10 of 16 for T = 4, ~30% less time measured), the rest are mirrored once at the end.
SYMMETRIC_TILES = 4
_TILED_MIN_N = 512


def _tile_edges(n: int) -> list[int]:
    tiles = SYMMETRIC_TILES if n >= _TILED_MIN_N else 1
    return [round(i * n / tiles) for i in range(tiles + 1)]


def _add_gram_upper(gram: Tensor, block: Tensor, edges: list[int]) -> None:
    """``gram += blockᵀ block`` on the diagonal and upper tiles only."""
    for i in range(len(edges) - 1):
        left = block[..., edges[i] : edges[i + 1]]
        for j in range(i, len(edges) - 1):
            tile = gram[..., edges[i] : edges[i + 1], edges[j] : edges[j + 1]]
            right = block[..., edges[j] : edges[j + 1]]
            if gram.ndim == 2:
                tile.addmm_(left.mT, right)
            else:
                tile += left.mT @ right


def _mirror_upper(gram: Tensor, edges: list[int]) -> Tensor:
    for i in range(len(edges) - 1):
        for j in range(i + 1, len(edges) - 1):
            upper = gram[..., edges[i] : edges[i + 1], edges[j] : edges[j + 1]]
            gram[..., edges[j] : edges[j + 1], edges[i] : edges[i + 1]] = upper.mT
    return gram


def shifted_moments(x: Tensor, shift: Tensor) -> tuple[Tensor, Tensor]:
    """Float64 ``Σ_i (x_i − c)`` and ``Σ_i (x_i − c)(x_i − c)ᵀ`` over the sample dim of ``x [..., m, n]``.

    ``shift`` (``c``, float64 ``[..., n]``) should be close to the mean: the centred second moment is later
    recovered as ``gram − s sᵀ/m``, which is exact when ``s ≈ 0``.
    """
    m, n = x.shape[-2], x.shape[-1]
    rows = max(1, MOMENT_BLOCK_ELEMENTS // (n * _batch_numel(x)))
    edges = _tile_edges(n)
    total = torch.zeros(*x.shape[:-2], n, dtype=torch.float64, device=x.device)
    gram = torch.zeros(*x.shape[:-2], n, n, dtype=torch.float64, device=x.device)
    c = shift.unsqueeze(-2)
    for start in range(0, m, rows):
        block = x[..., start : start + rows, :].to(torch.float64) - c
        total += block.sum(-2)
        _add_gram_upper(gram, block, edges)
    return total, _mirror_upper(gram, edges)


def second_moment(d: Tensor) -> Tensor:
    """Float64 uncentred ``Σ_i d_i d_iᵀ`` over the sample dim of ``d [..., q, n]``."""
    q, n = d.shape[-2], d.shape[-1]
    rows = max(1, MOMENT_BLOCK_ELEMENTS // (n * _batch_numel(d)))
    edges = _tile_edges(n)
    gram = torch.zeros(*d.shape[:-2], n, n, dtype=torch.float64, device=d.device)
    for start in range(0, q, rows):
        _add_gram_upper(gram, d[..., start : start + rows, :].to(torch.float64), edges)
    return _mirror_upper(gram, edges)


def _split_mean(mean: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """``μ`` as ``hi + lo`` in ``dtype``: subtracting both keeps the centring exact to the input's precision.

    Subtracting only ``fl(μ)`` would leave every centred sample offset by the rounding ``μ − fl(μ)``, a
    relative error of ``eps·|μ|/std`` in every product (6e-4 in float32 for a mean 10⁴ std devs away).
    """
    hi = mean.to(dtype)
    lo = (mean.to(torch.float64) - hi.to(torch.float64)).to(dtype)
    return hi.unsqueeze(-2), lo.unsqueeze(-2)


def _center_into(out: Tensor, x: Tensor, hi: Tensor, lo: Tensor) -> Tensor:
    torch.sub(x, hi, out=out)
    return out.sub_(lo)


def centered_t_matmul(x: Tensor, mean: Tensor, w: Tensor) -> Tensor:
    """``(x − μ)ᵀ w`` for ``x [..., p, n]``, ``μ [..., n]`` ``w [..., p, l]``: ``[..., n, l]``."""
    p, n = x.shape[-2], x.shape[-1]
    rows = block_rows_for(n, _batch_numel(x))
    hi, lo = _split_mean(mean, x.dtype)
    if rows >= p:
        return ((x - hi) - lo).mT @ w
    batch = torch.broadcast_shapes(x.shape[:-2], w.shape[:-2])
    out_t = torch.zeros(*batch, w.shape[-1], n, dtype=x.dtype, device=x.device)
    buf = torch.empty(*x.shape[:-2], rows, n, dtype=x.dtype, device=x.device)
    wt = w.mT
    for start in range(0, p, rows):
        stop = min(p, start + rows)
        block = _center_into(buf[..., : stop - start, :], x[..., start:stop, :], hi, lo)
        if out_t.ndim == 2:
            out_t.addmm_(wt[:, start:stop], block)
        else:
            out_t += wt[..., start:stop] @ block
    return out_t.mT


def centered_matmul(x: Tensor, mean: Tensor, v: Tensor) -> Tensor:
    """``(x − μ) v`` for ``x [..., p, n]``, ``μ [..., n]``, ``v [..., n, l]``: ``[..., p, l]``."""
    p, n = x.shape[-2], x.shape[-1]
    rows = block_rows_for(n, _batch_numel(x))
    hi, lo = _split_mean(mean, x.dtype)
    if rows >= p:
        return ((x - hi) - lo) @ v
    batch = torch.broadcast_shapes(x.shape[:-2], v.shape[:-2])
    out = torch.empty(*batch, p, v.shape[-1], dtype=x.dtype, device=x.device)
    buf = torch.empty(*x.shape[:-2], rows, n, dtype=x.dtype, device=x.device)
    for start in range(0, p, rows):
        stop = min(p, start + rows)
        block = _center_into(buf[..., : stop - start, :], x[..., start:stop, :], hi, lo)
        if out.ndim == 2:
            torch.mm(block, v, out=out[start:stop])
        else:
            out[..., start:stop, :] = block @ v
    return out
