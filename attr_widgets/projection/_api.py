"""Public entry points: important_directions, vector_directions and directions_from_covariances."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from ._exact import exact_directions, solve_covariances
from ._randomized import randomized_directions
from ._result import Projection
from ._validate import (
    check_generator,
    check_k,
    check_method,
    check_nonnegative_int,
    check_rtol,
    check_same_samples,
    check_samples,
    default_rtol,
    working_dtype,
)

__all__ = ["important_directions", "vector_directions", "directions_from_covariances", "choose_method"]

Method = Literal["exact", "randomized", "auto"]

DEFAULT_OVERSAMPLE = 10
DEFAULT_N_ITER = 6


def choose_method(p: int, n: int, k: int, oversample: int = DEFAULT_OVERSAMPLE) -> str:
    """What ``method="auto"`` picks for ``p`` samples of ``n`` features.

    Randomized when the problem is big enough for the ``O(np·min(n, p))`` exact cost to matter
    (``min(n, p) >= 512``) and the sketch is thin compared to it (``4(k + oversample) <= min(n, p)``);
    exact otherwise.
    """
    small = min(n, p)
    return "randomized" if small >= 512 and 4 * (k + oversample) <= small else "exact"


def important_directions(
    acts: Tensor,
    grads: Tensor | None,
    k: int,
    *,
    method: Method = "auto",
    rtol: float | None = None,
    oversample: int = DEFAULT_OVERSAMPLE,
    n_iter: int = DEFAULT_N_ITER,
    generator: torch.Generator | None = None,
) -> Projection:
    """The ``k`` directions of variance in ``acts`` most important to ``f`` (Hilton 2024, basis-invariant).

    Finds the rank-``r`` projection ``P`` minimising the first-order approximation of
    ``E[(f(X) − f(μ + P(X − μ)))²]``: with ``Σ = AAᵀ`` the activation covariance and ``Π = GGᵀ`` the second
    moment of the gradients, ``P = A V S_r⁻¹ Uᵀ Gᵀ`` from the SVD ``GᵀA = U S Vᵀ``.

    Args:
        acts: activations ``[..., p, n]`` (p samples of n features; leading dims are independent problems).
        grads: ``∇f`` at each sample, same shape as ``acts``; ``None`` means ``Π = I``, which gives PCA.
        k: the number of directions wanted; ``r = min(k, numerical rank)`` are returned.
        method: ``"exact"`` (float64 internally, the cheaper of an ``O(np²)`` route holding a float64 copy
            of the samples and an ``O(pn² + n³)`` route holding float64 n×n moments), ``"randomized"``
            (Hilton 2024, §4.1: subspace iteration on ``GᵀA`` in factored form, ``O(npk)``, in the inputs'
            dtype, never forms an n×n or p×p matrix; extra memory ``O((n + p)(k + oversample))`` plus one
            2²⁰-number block) or ``"auto"`` (see :func:`choose_method`).
        rtol: singular values below ``rtol`` times the largest count as zero (Hilton's guard for ``S^-½``);
            default ``max(n·eps(dtype), sqrt(n·eps(float64)))``, the rounding floor of the input and of the
            float64 covariance route.
        oversample: extra sketch columns for ``"randomized"`` (Halko et al.'s ``p``).
        n_iter: power iterations for ``"randomized"`` (Halko et al.'s ``q``).
        generator: random generator for ``"randomized"``, on the samples' device, for reproducible results.

    Returns:
        A :class:`Projection` in the inputs' dtype (float32 at least) on the inputs' device.

    Raises:
        TypeError: non-tensor or non-floating inputs, non-int ``k``.
        ValueError: shape or device mismatch, fewer than 2 samples, NaN/Inf, ``k < 1``, unknown ``method``.

    Warns:
        RankDeficiencyWarning: when fewer than ``k`` singular values pass the cutoff.
    """
    acts = check_samples(acts, "acts")
    if grads is not None:
        grads = check_samples(grads, "grads")
        check_same_samples(acts, grads, "grads")
    p = acts.shape[-2]
    return _solve(acts, grads, 1.0 / p, k, method, rtol, oversample, n_iter, generator)


def vector_directions(
    acts: Tensor,
    jacobians: Tensor,
    k: int,
    *,
    method: Method = "auto",
    rtol: float | None = None,
    oversample: int = DEFAULT_OVERSAMPLE,
    n_iter: int = DEFAULT_N_ITER,
    generator: torch.Generator | None = None,
) -> Projection:
    """Directions for a vector-valued ``f: Rⁿ → Rᵐ`` with ``Π = E[JᵀJ] = Σ_j E[∇f_j ∇f_jᵀ]``.

    Hilton, A basis-invariant version of attribution (2024), §4.4.

    The objective becomes ``E[‖f(X) − f(μ + P(X − μ))‖²]``, the sum of the components' scalar objectives.

    Args:
        acts: ``[..., p, n]`` activations.
        jacobians: ``[..., p, m, n]``, the Jacobian ``J_f`` at each sample (row j is ``∇f_j``).
        k: number of directions.
        method: as for :func:`important_directions`.
        rtol: as for :func:`important_directions`.
        oversample: as for :func:`important_directions`.
        n_iter: as for :func:`important_directions`.
        generator: as for :func:`important_directions`.
    """
    acts = check_samples(acts, "acts")
    jacobians = check_samples(jacobians, "jacobians", sample_dims=3, min_samples=1)
    check_same_samples(acts, jacobians, "jacobians", extra_dims=1)
    p = acts.shape[-2]
    rows = jacobians.reshape(*jacobians.shape[:-3], -1, jacobians.shape[-1])
    return _solve(acts, rows, 1.0 / p, k, method, rtol, oversample, n_iter, generator)


def directions_from_covariances(
    mean: Tensor,
    covariance: Tensor,
    gradient_moment: Tensor | None,
    k: int,
    *,
    rtol: float | None = None,
    n_samples: int = 0,
) -> Projection:
    """Directions from precomputed ``μ [..., n]``, ``Σ [..., n, n]`` and ``Π [..., n, n]`` (None: PCA).

    For moments that come from elsewhere (a streaming pass, an expected Hessian, a closed form).
    ``Σ`` and ``Π`` must be symmetric positive semi-definite; computation is in float64.
    """
    for name, value, dims in (
        ("mean", mean, 1),
        ("covariance", covariance, 2),
        ("gradient_moment", gradient_moment, 2),
    ):
        if value is None:
            continue
        if not isinstance(value, Tensor) or not value.is_floating_point():
            raise TypeError(f"{name} must be a floating torch.Tensor")
        if value.ndim < dims or not bool(torch.isfinite(value).all()):
            raise ValueError(
                f"{name} must be a finite tensor with at least {dims} dim(s); got {tuple(value.shape)}"
            )
    n = mean.shape[-1]
    if covariance.shape != (*mean.shape, n):
        raise ValueError(
            f"covariance must have shape {(*mean.shape, n)} to match mean; got {tuple(covariance.shape)}"
        )
    if gradient_moment is not None and gradient_moment.shape != covariance.shape:
        raise ValueError(
            f"gradient_moment must have the shape of covariance, {tuple(covariance.shape)}; "
            f"got {tuple(gradient_moment.shape)}"
        )
    k = check_k(k)
    tol = check_rtol(rtol)
    dtypes = [mean.dtype, covariance.dtype] + ([gradient_moment.dtype] if gradient_moment is not None else [])
    out_dtype = working_dtype(*dtypes)
    tol = default_rtol(out_dtype, n) if tol is None else tol
    return solve_covariances(
        mean.to(torch.float64),
        covariance,
        gradient_moment,
        k,
        tol,
        out_dtype=out_dtype,
        n_samples=n_samples,
        method="covariances",
    )


def _solve(
    acts: Tensor,
    grad_rows: Tensor | None,
    grad_weight: float,
    k: int,
    method: str,
    rtol: float | None,
    oversample: int,
    n_iter: int,
    generator: torch.Generator | None,
) -> Projection:
    k = check_k(k)
    method = check_method(method)
    tol = check_rtol(rtol)
    oversample = check_nonnegative_int(oversample, "oversample")
    n_iter = check_nonnegative_int(n_iter, "n_iter")
    generator = check_generator(generator, acts.device)
    p, n = acts.shape[-2], acts.shape[-1]
    out_dtype = working_dtype(acts.dtype, *(() if grad_rows is None else (grad_rows.dtype,)))
    tol = default_rtol(out_dtype, n) if tol is None else tol
    if method == "auto":
        method = choose_method(p, n, k, oversample)
    if method == "randomized":
        return randomized_directions(
            acts,
            grad_rows,
            grad_weight,
            k,
            tol,
            oversample=oversample,
            n_iter=n_iter,
            generator=generator,
            out_dtype=out_dtype,
        )
    return exact_directions(acts, grad_rows, grad_weight, k, tol, out_dtype=out_dtype)
