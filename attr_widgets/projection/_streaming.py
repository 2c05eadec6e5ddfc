"""Streaming (and distributed) accumulation of Hilton's sufficient statistics ``μ``, ``Σ`` and ``Π``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ._blocks import sample_mean, second_moment, shifted_moments
from ._distributed import all_ranks_agree, all_reduce_moments, any_rank, distributed_ready
from ._exact import solve_covariances
from ._result import Projection
from ._validate import check_k, check_rtol, check_same_samples, check_samples, default_rtol, working_dtype

__all__ = ["DirectionsAccumulator", "Moments"]


@dataclass(frozen=True)
class Moments:
    """Statistics of everything fed so far (float64).

    Attributes:
        count: number of samples p.
        mean: ``μ`` ``[..., n]``.
        covariance: ``Σ = (1/p) Σ_i (x_i − μ)(x_i − μ)ᵀ`` ``[..., n, n]``.
        gradient_moment: ``Π = (1/p) Σ_i ∇f(x_i)∇f(x_i)ᵀ`` (``Σ_i J_iᵀJ_i`` for Jacobians) or None for PCA.
    """

    count: int
    mean: Tensor
    covariance: Tensor
    gradient_moment: Tensor | None


class DirectionsAccumulator:
    """Feed ``(acts, grads)`` chunk by chunk; :meth:`result` equals :func:`important_directions` on the union.

    The state is ``(count, shift c, Σ(x − c), Σ(x − c)(x − c)ᵀ, Σ ∇f∇fᵀ)`` in float64, where ``c`` is the mean
    of the first chunk (a shift close to the mean keeps the final ``Σ`` free of cancellation). Memory is
    bounded independently of the number of samples: ``2·n²`` float64 numbers per batch item (``n²`` with
    ``pca=True``) plus one transient block of ``2²¹`` float64 numbers while a chunk is folded in. Updates cost
    ``O(m n²)`` for a chunk of m samples; :meth:`result` costs ``O(n³)``.

    When a ``torch.distributed`` process group is initialised (and ``sync`` is true), :meth:`moments` and
    :meth:`result` all-reduce the statistics over the group, so N processes fed N disjoint shards return the
    single-process answer. They are then collectives: every rank must call them. A rank that may receive no
    data must be constructed with ``n`` (and ``batch_shape``) so that it can still contribute zeros.

    Args:
        n: feature dimension, to allocate the state up front (otherwise taken from the first chunk).
        batch_shape: leading batch dims of every chunk (independent problems), when ``n`` is given.
        pca: ``True`` to accumulate activations only (``Π = I``); then ``grads`` must not be passed.
        device: where the state lives when ``n`` is given (otherwise the first chunk's device).
        sync: all-reduce over ``torch.distributed`` when it is initialised.
        group: the process group to reduce over (default: the world).
    """

    def __init__(
        self,
        n: int | None = None,
        *,
        batch_shape: Sequence[int] = (),
        pca: bool = False,
        device: torch.device | str | None = None,
        sync: bool = True,
        group: Any = None,
    ) -> None:
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValueError(f"n must be None or an int >= 1 (the feature dimension); got {n!r}")
        self.pca = bool(pca)
        self.sync = bool(sync)
        self.group = group
        self._count = 0
        self._dtype = torch.float32
        self._shift: Tensor | None = None
        self._sum: Tensor | None = None
        self._gram: Tensor | None = None
        self._grad_gram: Tensor | None = None
        if n is not None:
            self._allocate(tuple(int(b) for b in batch_shape), n, torch.device(device or "cpu"))

    @property
    def count(self) -> int:
        """Number of samples fed to this process's accumulator (not summed over ranks)."""
        return self._count

    def _allocate(self, batch: tuple[int, ...], n: int, device: torch.device) -> None:
        vec, mat = (*batch, n), (*batch, n, n)
        self._shift = torch.zeros(vec, dtype=torch.float64, device=device)
        self._sum = torch.zeros(vec, dtype=torch.float64, device=device)
        self._gram = torch.zeros(mat, dtype=torch.float64, device=device)
        self._grad_gram = None if self.pca else torch.zeros(mat, dtype=torch.float64, device=device)

    def update(
        self, acts: Tensor, grads: Tensor | None = None, *, jacobians: Tensor | None = None
    ) -> DirectionsAccumulator:
        """Fold in a chunk ``acts [..., m, n]`` with ``grads [..., m, n]`` or ``jacobians [..., m, q, n]``."""
        acts = check_samples(acts, "acts", min_samples=1)
        rows = self._gradient_rows(acts, grads, jacobians)
        batch, n = tuple(acts.shape[:-2]), acts.shape[-1]
        if self._gram is None:
            self._allocate(batch, n, acts.device)
        assert self._gram is not None and self._sum is not None and self._shift is not None
        if self._gram.shape[:-2] != batch or self._gram.shape[-1] != n:
            raise ValueError(
                "acts chunks must all have shape "
                f"[*{tuple(self._gram.shape[:-2])}, m, {self._gram.shape[-1]}]; "
                f"got {tuple(acts.shape)}"
            )
        if acts.device != self._gram.device:
            raise ValueError(f"acts is on {acts.device} but the accumulator lives on {self._gram.device}")
        if self._count == 0:
            self._shift = sample_mean(acts)
        total, gram = shifted_moments(acts, self._shift)
        self._sum += total
        self._gram += gram
        if rows is not None:
            assert self._grad_gram is not None
            self._grad_gram += second_moment(rows)
        self._count += acts.shape[-2]
        self._dtype = working_dtype(self._dtype, acts.dtype, *(() if rows is None else (rows.dtype,)))
        return self

    def _gradient_rows(self, acts: Tensor, grads: Tensor | None, jacobians: Tensor | None) -> Tensor | None:
        if self.pca:
            if grads is not None or jacobians is not None:
                raise ValueError("this accumulator was created with pca=True; do not pass grads or jacobians")
            return None
        if (grads is None) == (jacobians is None):
            raise ValueError("pass exactly one of grads [..., m, n] or jacobians [..., m, q, n] (pca=False)")
        if grads is not None:
            grads = check_samples(grads, "grads", min_samples=1)
            check_same_samples(acts, grads, "grads")
            return grads
        assert jacobians is not None
        jacobians = check_samples(jacobians, "jacobians", min_samples=1, sample_dims=3)
        check_same_samples(acts, jacobians, "jacobians", extra_dims=1)
        return jacobians.reshape(*jacobians.shape[:-3], -1, jacobians.shape[-1])

    def _local(self) -> tuple[int, Tensor, Tensor, Tensor | None]:
        assert self._gram is not None and self._sum is not None and self._shift is not None
        c = self._count
        if c == 0:
            return 0, torch.zeros_like(self._shift), torch.zeros_like(self._gram), self._grad_gram
        mean = self._shift + self._sum / c
        m2 = self._gram - self._sum.unsqueeze(-1) * self._sum.unsqueeze(-2) / c
        return c, mean, m2, self._grad_gram

    def merge(self, other: DirectionsAccumulator) -> DirectionsAccumulator:
        """Absorb another accumulator's samples (Chan et al.'s pairwise update); returns self."""
        if not isinstance(other, DirectionsAccumulator) or other.pca != self.pca:
            raise ValueError("other must be a DirectionsAccumulator with the same pca setting")
        if other._gram is None or other._count == 0:
            return self
        if self._gram is None or self._count == 0:
            self._shift, self._sum = other._shift.clone(), other._sum.clone()  # type: ignore[union-attr]
            self._gram = other._gram.clone()
            self._grad_gram = None if other._grad_gram is None else other._grad_gram.clone()
            self._count, self._dtype = other._count, other._dtype
            return self
        if other._gram.shape != self._gram.shape:
            raise ValueError(f"other holds shape {tuple(other._gram.shape)}, self {tuple(self._gram.shape)}")
        ca, mean_a, m2_a, g_a = self._local()
        cb, mean_b, m2_b, g_b = other._local()
        total = ca + cb
        delta = mean_b - mean_a
        self._shift = mean_a + delta * (cb / total)
        self._sum = torch.zeros_like(self._shift)
        self._gram = m2_a + m2_b + (delta.unsqueeze(-1) * delta.unsqueeze(-2)) * (ca * cb / total)
        if g_a is not None and g_b is not None:
            self._grad_gram = g_a + g_b
        self._count = total
        self._dtype = working_dtype(self._dtype, other._dtype)
        return self

    def moments(self, *, sync: bool | None = None) -> Moments:
        """``μ``, ``Σ``, ``Π`` of all samples fed so far (over all ranks when distributed and syncing)."""
        do_sync = self.sync if sync is None else bool(sync)
        if do_sync and distributed_ready():
            ready = self._gram is not None
            if not all_ranks_agree(ready, self._device_for_sync(), self.group):
                raise RuntimeError(
                    "a rank has never been fed a chunk, so it does not know the statistics' shape; construct "
                    "DirectionsAccumulator(n=..., batch_shape=...) on every rank"
                )
            count, mean, m2, grad_gram = all_reduce_moments(*self._local(), group=self.group)
        else:
            if self._gram is None or self._count == 0:
                raise ValueError("the accumulator is empty; call update() with at least one chunk first")
            count, mean, m2, grad_gram = self._local()
        return Moments(
            count=count,
            mean=mean,
            covariance=m2 / count,
            gradient_moment=None if grad_gram is None else grad_gram / count,
        )

    def _device_for_sync(self) -> torch.device:
        if self._gram is not None:
            return self._gram.device
        backend = torch.distributed.get_backend(self.group)
        return torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")

    def result(self, k: int, *, rtol: float | None = None, sync: bool | None = None) -> Projection:
        """The :class:`Projection` for everything fed so far (exact, float64 internally)."""
        k = check_k(k)
        tol = check_rtol(rtol)
        stats = self.moments(sync=sync)
        out_dtype = self._dtype
        if (self.sync if sync is None else sync) and distributed_ready():
            # Every rank returns the same dtype, even one that was never fed a (float64) chunk.
            wide = any_rank(out_dtype == torch.float64, stats.mean.device, self.group)
            out_dtype = torch.float64 if wide else torch.float32
        n = stats.mean.shape[-1]
        tol = default_rtol(out_dtype, n) if tol is None else tol
        if stats.count < 2:
            raise ValueError(f"need at least 2 samples for a covariance; the accumulator holds {stats.count}")
        return solve_covariances(
            stats.mean,
            stats.covariance,
            stats.gradient_moment,
            k,
            tol,
            out_dtype=out_dtype,
            n_samples=stats.count,
            method="streaming",
        )
