"""DirectionsWidget over a ``torch.distributed`` process group: one widget per rank, each on its shard.

Each rank collects activations and gradients of its own shard of the data (the widget's usual pass); the
statistics the directions are made of — ``μ``, ``Σ`` (activations), ``Π`` (gradients) and the mean gradient —
are all-reduced once per collect (``DirectionsAccumulator.moments``, Chan et al.'s parallel update, exact), so
every rank solves the same problem as one process holding all the data would (Hilton, "A basis-invariant
version of attribution", 2024: the directions depend on the data only through ``μ``, ``Σ`` and ``Π``).
Changing ``k`` afterwards solves again from the stored statistics with no collective, so a rank's view can
change it alone; a new layer or target needs a new collect on every rank (a collective), so a distributed
widget refuses them (build a new widget on every rank).

Over all ranks: the directions, their orientation, the spreads (slider units) and ``n_samples``. Over this
rank's shard: the coordinates shown, the top / bottom examples, and both objective estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from attr_widgets.projection import DirectionsAccumulator, Projection, directions_from_covariances

from ._directions_compute import Samples


@dataclass(frozen=True)
class GlobalStatistics:
    """What every rank agrees on after one all-reduce (float64)."""

    mean: Tensor  # [n]
    covariance: Tensor  # [n, n]  Σ over all ranks' samples
    gradient_moment: Tensor  # [n, n]  Π
    mean_gradient: Tensor  # [n]  E[∇f], for the orientation of the directions
    count: int


def ready() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def global_statistics(samples: Samples) -> GlobalStatistics:
    """All-reduce this rank's samples into the statistics of all ranks' data.

    A collective: every rank calls it.
    """
    n = samples.acts.shape[1]
    accumulator = DirectionsAccumulator(n=n, device=samples.acts.device)
    accumulator.update(samples.acts, samples.grads)
    moments = accumulator.moments()  # all-reduced
    assert moments.gradient_moment is not None
    count = torch.tensor([float(samples.acts.shape[0])], dtype=torch.float64, device=samples.grads.device)
    head = torch.cat([samples.grads.double().sum(0), count])
    torch.distributed.all_reduce(head, op=torch.distributed.ReduceOp.SUM)
    return GlobalStatistics(
        mean=moments.mean,
        covariance=moments.covariance,
        gradient_moment=moments.gradient_moment,
        mean_gradient=head[:n] / head[n],
        count=int(moments.count),
    )


def solve_bases(stats: GlobalStatistics, k: int, dtype: torch.dtype) -> tuple[Projection, Projection]:
    """(important directions, PCA) from the all-reduced statistics; no collective."""
    important = directions_from_covariances(
        stats.mean, stats.covariance, stats.gradient_moment, k, n_samples=stats.count
    )
    pca = directions_from_covariances(stats.mean, stats.covariance, None, k, n_samples=stats.count)
    return important.to(dtype), pca.to(dtype)


def global_spreads(projection: Projection, stats: GlobalStatistics) -> Tensor:
    """The standard deviation of each coordinate over all ranks' data: ``sqrt(diag(P_Gᵀ Σ P_G))``."""
    basis = projection.grad_basis.to(torch.float64)
    variance = ((stats.covariance @ basis) * basis).sum(0).clamp_min(0.0)
    return variance.sqrt().to(projection.act_basis.dtype)
