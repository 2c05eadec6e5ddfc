"""The :class:`Projection` result: a rank-r projection ``P = P_A P_Gᵀ`` kept in factored form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

__all__ = ["Projection", "RankDeficiencyWarning"]


class RankDeficiencyWarning(UserWarning):
    """Fewer than ``k`` singular values of ``GᵀA`` passed the cutoff, so fewer directions were returned."""


@dataclass(frozen=True, eq=False)
class Projection:
    """Important directions of variance for a function ``f`` (Hilton 2024), as a projection ``P = P_A P_Gᵀ``.

    ``P`` is the rank-``r`` projection (``P² = P``) minimising the first-order approximation of
    ``E[(f(X) − f(μ + P(X − μ)))²]``; it is invariant to invertible reparameterisations of ``X``.

    Attributes:
        act_basis: ``P_A`` of shape ``[..., n, r]``; its columns span the image of ``P`` (directions in
            activation space, the ones a slider moves along).
        grad_basis: ``P_G`` of shape ``[..., n, r]``; its columns span the orthogonal complement of the
            kernel of ``P`` (read-out directions: ``coords(x) = P_Gᵀ(x − μ)``).
        singular_values: ``[..., r]``, descending: the singular values of ``GᵀA`` where ``AAᵀ = Σ`` and
            ``GGᵀ = Π`` are the sample covariance of the activations and the uncentred second moment of the
            gradients, both normalised by the number of samples. ``σ_i²`` is the share of the linearised
            variance of ``f`` carried by direction ``i``; with leading batch dims, entries past an item's own
            rank are 0 (and so are the matching basis columns).
        mean: ``μ``, the sample mean of the activations, ``[..., n]``.
        method: which algorithm produced the result (``"exact"``, ``"randomized"``, ``"streaming"``, ...).
        n_samples: the number of samples ``p`` the statistics were computed from.
    """

    act_basis: Tensor
    grad_basis: Tensor
    singular_values: Tensor
    mean: Tensor
    method: str = "exact"
    n_samples: int = 0

    @property
    def n_features(self) -> int:
        """The activation dimension ``n``."""
        return int(self.act_basis.shape[-2])

    @property
    def n_directions(self) -> int:
        """The number of directions ``r`` stored (the largest rank over the batch)."""
        return int(self.act_basis.shape[-1])

    @property
    def batch_shape(self) -> torch.Size:
        """The leading batch dims (empty for a single projection)."""
        return self.mean.shape[:-1]

    @property
    def rank(self) -> Tensor:
        """The rank of ``P`` per batch item (a long tensor of shape ``batch_shape``)."""
        return (self.singular_values > 0).sum(-1)

    def matrix(self) -> Tensor:
        """The dense ``[..., n, n]`` projection ``P = P_A P_Gᵀ`` (materialises n×n: only for small n)."""
        return self.act_basis @ self.grad_basis.mT

    def coords(self, x: Tensor) -> Tensor:
        """Slider coordinates ``P_Gᵀ(x − μ)``: ``x`` is ``[..., n]`` → ``[..., r]``.

        With leading batch dims on the projection, ``x`` must be ``[..., m, n]`` where ``x.shape[:-2]``
        broadcasts against ``batch_shape`` (m points per projection).
        """
        x = self._check_points(x, "x", self.n_features)
        return (x - self._expand(self.mean)) @ self.grad_basis.to(x.dtype)

    def reconstruct(self, coords: Tensor) -> Tensor:
        """The point ``μ + P_A c`` for slider coordinates ``c`` (``[..., r]`` → ``[..., n]``)."""
        coords = self._check_points(coords, "coords", self.n_directions)
        return self._expand(self.mean).to(coords.dtype) + coords @ self.act_basis.to(coords.dtype).mT

    def __call__(self, x: Tensor) -> Tensor:
        """Project points: ``μ + P(x − μ)`` for ``x [..., n]`` (see :meth:`coords` for batches)."""
        return self.reconstruct(self.coords(x))

    def objective(self, f: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
        """Hilton's (2024) objective ``E[‖f(X) − f(μ + P(X − μ))‖²]`` estimated on samples ``x``.

        Args:
            f: maps a tensor shaped like ``x`` to per-sample outputs, either ``x.shape[:-1]`` (scalar f) or
                ``x.shape[:-1] + (m,)`` (vector-valued f, Hilton 2024 §4.4: squared norms are summed over m).
            x: ``[..., p, n]`` samples; the mean is over the sample dim p (and over any extra leading dims of
                an unbatched projection).

        Returns:
            A tensor of shape ``batch_shape`` (a scalar for a single projection).
        """
        x = self._check_points(x, "x", self.n_features)
        if x.ndim < 2:
            raise ValueError(f"x must have shape [..., p, n] (p samples); got {tuple(x.shape)}")
        fx, fpx = f(x), f(self(x))
        if not isinstance(fx, Tensor) or fx.shape != fpx.shape:
            raise ValueError(
                "f must return a tensor of per-sample values with the same shape for every input"
            )
        if fx.shape == x.shape[:-1]:
            sq = (fx - fpx).square()
        elif fx.ndim == x.ndim and fx.shape[:-1] == x.shape[:-1]:
            sq = (fx - fpx).square().sum(-1)
        else:
            raise ValueError(
                f"f must return shape {tuple(x.shape[:-1])} (scalar f) or {tuple(x.shape[:-1])} + (m,) "
                f"(vector f) for x of shape {tuple(x.shape)}; got {tuple(fx.shape)}"
            )
        if self.batch_shape == ():
            return sq.mean()
        return sq.mean(-1)

    def to(self, *args: Any, **kwargs: Any) -> Projection:
        """A copy with every tensor moved/cast by ``Tensor.to(*args, **kwargs)``."""
        return replace(
            self,
            act_basis=self.act_basis.to(*args, **kwargs),
            grad_basis=self.grad_basis.to(*args, **kwargs),
            singular_values=self.singular_values.to(*args, **kwargs),
            mean=self.mean.to(*args, **kwargs),
        )

    def _expand(self, t: Tensor) -> Tensor:
        """Insert the point dim m so batch-shaped tensors broadcast against ``[..., m, ·]`` points."""
        return t if self.batch_shape == () else t.unsqueeze(-2)

    def _check_points(self, x: object, name: str, width: int) -> Tensor:
        if not isinstance(x, Tensor) or not x.is_floating_point():
            raise TypeError(f"{name} must be a floating torch.Tensor of shape [..., {width}]")
        if x.ndim < 1 or x.shape[-1] != width:
            raise ValueError(f"{name} must have last dim {width}; got shape {tuple(x.shape)}")
        if x.device != self.mean.device:
            raise ValueError(f"{name} is on {x.device} but the projection is on {self.mean.device}")
        if self.batch_shape != ():
            if x.ndim < 2:
                raise ValueError(
                    f"{name} must have shape [..., m, {width}] for a projection with batch shape "
                    f"{tuple(self.batch_shape)}; got {tuple(x.shape)}"
                )
            try:
                torch.broadcast_shapes(x.shape[:-2], self.batch_shape)
            except RuntimeError as err:
                raise ValueError(
                    f"{name}.shape[:-2] = {tuple(x.shape[:-2])} does not broadcast against the projection's "
                    f"batch shape {tuple(self.batch_shape)}"
                ) from err
        dtype = torch.promote_types(x.dtype, self.mean.dtype)
        return x.to(dtype)
