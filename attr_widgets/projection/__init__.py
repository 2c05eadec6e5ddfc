"""Basis-invariant important directions (Hilton 2024): torch only, on whatever device the tensors live.

``important_directions(acts, grads, k)`` finds the rank-k projection ``P`` of the activations that best
preserves a function ``f`` (to first order), returned in factored form as a :class:`Projection`. Streaming,
distributed, live-model collection and Hilton's extensions (§4.2 cross-covariance, §4.3 Hessian, §4.4
vector-valued) build on the same core.
"""

from ._api import choose_method, directions_from_covariances, important_directions, vector_directions
from ._collect import Collected, accumulate, collect
from ._cross import CrossCovarianceApproximation, cross_covariance_directions, cross_covariance_from_moments
from ._hessian import absolute_psd, hessian_directions, mean_hessian_vector_product
from ._result import Projection, RankDeficiencyWarning
from ._streaming import DirectionsAccumulator, Moments

__all__ = [
    "Collected",
    "CrossCovarianceApproximation",
    "DirectionsAccumulator",
    "Moments",
    "Projection",
    "RankDeficiencyWarning",
    "absolute_psd",
    "accumulate",
    "choose_method",
    "collect",
    "cross_covariance_directions",
    "cross_covariance_from_moments",
    "directions_from_covariances",
    "hessian_directions",
    "important_directions",
    "mean_hessian_vector_product",
    "vector_directions",
]
