"""A rank-k approximation of a cross-covariance ``Σ_XY`` weighted by ``Π_XY = E[∇f(X)∇f(Y)ᵀ]``.

Hilton, A basis-invariant version of attribution (2024), §4.2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ._blocks import sample_mean
from ._spectral import masked_power, select_rank
from ._validate import check_k, check_rtol, check_samples, default_rtol, working_dtype

__all__ = ["CrossCovarianceApproximation", "cross_covariance_directions", "cross_covariance_from_moments"]


@dataclass(frozen=True, eq=False)
class CrossCovarianceApproximation:
    """``Σ_XY⁽ᵏ⁾ = Σ_XY G_Y U_Y (S_k²)⁺ U_Xᵀ G_Xᵀ Σ_XY = left · rightᵀ`` (Hilton 2024, §4.2).

    ``G_Xᵀ Σ_XY⁽ᵏ⁾ G_Y`` is the best rank-k approximation of ``G_Xᵀ Σ_XY G_Y = U_X S² U_Yᵀ``. Unlike the
    original method, this depends on the factorisation ``Π_XY = G_X G_Yᵀ``; as Hilton (2024) suggests we take
    the one from the SVD of ``Π_XY`` (``G_X = U_Π s^½``, ``G_Y = W_Π s^½``), stored here for inspection.

    Attributes:
        left: ``Σ_XY G_Y U_Y,k S_k⁻¹`` ``[..., n_x, r]``.
        right: ``Σ_XYᵀ G_X U_X,k S_k⁻¹`` ``[..., n_y, r]``.
        singular_values: Hilton's ``S²`` (singular values of ``G_Xᵀ Σ_XY G_Y``), ``[..., r]``, descending.
        grad_factor_x: ``G_X`` ``[..., n_x, t]``.
        grad_factor_y: ``G_Y`` ``[..., n_y, t]``.
    """

    left: Tensor
    right: Tensor
    singular_values: Tensor
    grad_factor_x: Tensor
    grad_factor_y: Tensor

    def matrix(self) -> Tensor:
        """The dense ``[..., n_x, n_y]`` approximation ``Σ_XY⁽ᵏ⁾``."""
        return self.left @ self.right.mT


def cross_covariance_from_moments(
    cross_covariance: Tensor, cross_gradient_moment: Tensor, k: int, *, rtol: float | None = None
) -> CrossCovarianceApproximation:
    """§4.2 from ``Σ_XY [..., n_x, n_y]`` and ``Π_XY [..., n_x, n_y]`` (computed in float64)."""
    for name, value in (
        ("cross_covariance", cross_covariance),
        ("cross_gradient_moment", cross_gradient_moment),
    ):
        if not isinstance(value, Tensor) or not value.is_floating_point():
            raise TypeError(f"{name} must be a floating torch.Tensor of shape [..., n_x, n_y]")
        if value.ndim < 2 or not bool(torch.isfinite(value).all()):
            raise ValueError(
                f"{name} must be a finite [..., n_x, n_y] tensor; got shape {tuple(value.shape)}"
            )
    if cross_covariance.shape != cross_gradient_moment.shape:
        raise ValueError(
            "cross_gradient_moment must have the shape of cross_covariance, "
            f"{tuple(cross_covariance.shape)}; "
            f"got {tuple(cross_gradient_moment.shape)}"
        )
    k = check_k(k)
    tol = check_rtol(rtol)
    out_dtype = working_dtype(cross_covariance.dtype, cross_gradient_moment.dtype)
    tol = default_rtol(out_dtype, max(cross_covariance.shape[-2:])) if tol is None else tol
    sxy = cross_covariance.to(torch.float64)
    u_pi, s_pi, wh_pi = torch.linalg.svd(cross_gradient_moment.to(torch.float64), full_matrices=False)
    root = s_pi.sqrt().unsqueeze(-2)
    gx, gy = u_pi * root, wh_pi.mT * root
    ux, s2, uyh = torch.linalg.svd(gx.mT @ sxy @ gy, full_matrices=False)
    r, keep = select_rank(s2, k, tol)
    s2, ux, uy = s2[..., :r], ux[..., :r], uyh.mT[..., :r]
    inv_root = masked_power(s2, keep, -0.5).unsqueeze(-2)
    left = (sxy @ (gy @ uy)) * inv_root
    right = (sxy.mT @ (gx @ ux)) * inv_root
    return CrossCovarianceApproximation(
        left=left.to(out_dtype),
        right=right.to(out_dtype),
        singular_values=(s2 * keep).to(out_dtype),
        grad_factor_x=gx.to(out_dtype),
        grad_factor_y=gy.to(out_dtype),
    )


def cross_covariance_directions(
    acts_x: Tensor, acts_y: Tensor, grads_x: Tensor, grads_y: Tensor, k: int, *, rtol: float | None = None
) -> CrossCovarianceApproximation:
    """§4.2 from paired samples: ``acts_x, grads_x [..., p, n_x]`` and ``acts_y, grads_y [..., p, n_y]``.

    ``Σ_XY = (1/p) Σ_i (x_i − μ_X)(y_i − μ_Y)ᵀ`` and ``Π_XY = (1/p) Σ_i ∇f(x_i)∇f(y_i)ᵀ``.
    """
    acts_x, acts_y = check_samples(acts_x, "acts_x"), check_samples(acts_y, "acts_y")
    grads_x, grads_y = check_samples(grads_x, "grads_x"), check_samples(grads_y, "grads_y")
    if acts_y.shape[:-1] != acts_x.shape[:-1]:
        raise ValueError(
            f"acts_y must hold the same samples as acts_x (shape [..., p, ·] = {tuple(acts_x.shape[:-1])}); "
            f"got {tuple(acts_y.shape)}"
        )
    for name, value, ref in (("grads_x", grads_x, acts_x), ("grads_y", grads_y, acts_y)):
        if value.shape != ref.shape:
            raise ValueError(f"{name} must have shape {tuple(ref.shape)}; got {tuple(value.shape)}")
    devices = {t.device for t in (acts_x, acts_y, grads_x, grads_y)}
    if len(devices) != 1:
        raise ValueError(
            f"acts_x, acts_y, grads_x and grads_y must share a device; got {sorted(map(str, devices))}"
        )
    p = acts_x.shape[-2]
    xc = acts_x.to(torch.float64) - sample_mean(acts_x).unsqueeze(-2)
    yc = acts_y.to(torch.float64) - sample_mean(acts_y).unsqueeze(-2)
    sxy = xc.mT @ yc / p
    pxy = grads_x.to(torch.float64).mT @ grads_y.to(torch.float64) / p
    out_dtype = working_dtype(acts_x.dtype, acts_y.dtype, grads_x.dtype, grads_y.dtype)
    tol = check_rtol(rtol)
    # The cutoff follows the samples' precision, not the float64 the moments were formed in.
    tol = default_rtol(out_dtype, max(acts_x.shape[-1], acts_y.shape[-1])) if tol is None else tol
    approx = cross_covariance_from_moments(sxy, pxy, k, rtol=tol)
    return CrossCovarianceApproximation(
        left=approx.left.to(out_dtype),
        right=approx.right.to(out_dtype),
        singular_values=approx.singular_values.to(out_dtype),
        grad_factor_x=approx.grad_factor_x.to(out_dtype),
        grad_factor_y=approx.grad_factor_y.to(out_dtype),
    )
