"""Seed §4.2 (cross-covariance), §4.3 (Hessian) and §4.4 (vector-valued f)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from projection_helpers import linearised_objective, mixing, moments, problem, rel

from attr_widgets.projection import (
    absolute_psd,
    cross_covariance_directions,
    cross_covariance_from_moments,
    directions_from_covariances,
    hessian_directions,
    important_directions,
    mean_hessian_vector_product,
    vector_directions,
)

F64 = torch.float64
LAWS = settings(max_examples=15, deadline=None)


# ---------------------------------------------------------------- §4.2 cross-covariance
def paired(p, nx, ny, seed):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(p, nx + ny, generator=gen, dtype=F64) @ mixing(nx + ny, gen)
    gz = torch.randn(p, nx + ny, generator=gen, dtype=F64) @ mixing(nx + ny, gen)
    return z[:, :nx] + 1.0, z[:, nx:] - 2.0, gz[:, :nx], gz[:, nx:]


@pytest.mark.filterwarnings(
    "ignore::attr_widgets.projection.RankDeficiencyWarning"
)  # k > min(n_x, n_y) cases
@LAWS
@given(st.integers(20, 60), st.integers(2, 7), st.integers(2, 7), st.integers(1, 4), st.integers(0, 10**6))
def test_cross_covariance_is_the_best_rank_k_in_the_gradient_metric(p, nx, ny, k, seed):
    """G_Xᵀ Σ_XY⁽ᵏ⁾ G_Y is the truncated SVD of G_Xᵀ Σ_XY G_Y, with Π_XY = G_X G_Yᵀ."""
    x, y, gx, gy = paired(p, nx, ny, seed)
    approx = cross_covariance_directions(x, y, gx, gy, k)
    sxy = (x - x.mean(0)).mT @ (y - y.mean(0)) / p
    pxy = gx.mT @ gy / p
    fx, fy = approx.grad_factor_x, approx.grad_factor_y
    assert rel(fx @ fy.mT, pxy) < 1e-10
    core = fx.mT @ sxy @ fy
    u, s, vh = torch.linalg.svd(core)
    r = approx.singular_values.shape[-1]
    assert r == min(k, nx, ny)
    assert rel(fx.mT @ approx.matrix() @ fy, (u[:, :r] * s[:r]) @ vh[:r]) < 1e-8
    torch.testing.assert_close(approx.singular_values, s[:r], rtol=1e-9, atol=1e-12)
    from_moments = cross_covariance_from_moments(sxy, pxy, k)
    assert rel(from_moments.matrix(), approx.matrix()) < 1e-10


@LAWS
@given(st.sampled_from([(30, 5), (50, 8)]), st.integers(1, 4), st.integers(0, 10**6))
def test_cross_covariance_with_x_equal_y_is_p_sigma_pt(shape, k, seed):
    """Seed §4.2: Σ⁽ᵏ⁾ := PΣPᵀ, the cross-covariance construction applied to (X, X)."""
    acts, grads = problem(*shape, seed)
    approx = cross_covariance_directions(acts, acts, grads, grads, k)
    p_mat = important_directions(acts, grads, k, method="exact").matrix()
    _, sigma, _ = moments(acts, grads)
    assert rel(approx.matrix(), p_mat @ sigma @ p_mat.mT) < 1e-8


# ---------------------------------------------------------------- §4.3 Hessian
def quadratic(h, b):
    def f(x):
        return 0.5 * ((x @ h) * x).sum(-1) + x @ b

    return f


def sym(n, seed, eig):
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=F64))
    return (q * eig) @ q.mT


def test_mean_hvp_matches_autograd_hessian_on_a_nonlinear_f():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 1)).double()

    def f(x):
        return net(x).squeeze(-1)

    acts = torch.randn(9, 5, dtype=F64)
    dense = mean_hessian_vector_product(f, acts, torch.eye(5, dtype=F64), batch_size=4)
    ref = torch.stack(
        [torch.autograd.functional.hessian(lambda v: f(v.unsqueeze(0))[0], a) for a in acts]
    ).mean(0)
    torch.testing.assert_close(dense, ref)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_semi_definite_hessian_gives_pi_equal_half_the_hessian(sign):
    """PSD E[H] ⇒ Π = ½E[H]; NSD ⇒ negate. Same result whether f, the Hessian or the moments are given."""
    acts, _ = problem(80, 6, 0)
    h = sym(6, 1, torch.tensor([4.0, 2.0, 1.0, 0.5, 0.0, 0.0], dtype=F64)) * sign
    f = quadratic(h, torch.ones(6, dtype=F64))
    from_f = hessian_directions(acts, 3, f=f, mode="dense")
    from_h = hessian_directions(acts, 3, hessian=h)
    mu, sigma, _ = moments(acts, None)
    ref = directions_from_covariances(mu, sigma, sign * 0.5 * h, 3)
    assert rel(from_f.matrix(), ref.matrix()) < 1e-8
    assert rel(from_h.matrix(), ref.matrix()) < 1e-8
    torch.testing.assert_close(from_f.singular_values, ref.singular_values)


def test_indefinite_hessian_uses_absolute_eigenvalues():
    acts, _ = problem(80, 6, 2)
    eig = torch.tensor([3.0, -5.0, 1.0, -0.5, 0.2, 0.0], dtype=F64)
    h = sym(6, 3, eig)
    psd = absolute_psd(h)
    torch.testing.assert_close(torch.linalg.eigvalsh(psd), eig.abs().sort().values)
    proj = hessian_directions(acts, 2, f=quadratic(h, torch.zeros(6, dtype=F64)))
    mu, sigma, _ = moments(acts, None)
    assert rel(proj.matrix(), directions_from_covariances(mu, sigma, 0.5 * psd, 2).matrix()) < 1e-8


def test_hvp_mode_equals_dense_mode_when_the_hessian_has_low_rank():
    """No n×n Hessian in "hvp" mode, yet the same answer when rank(E[H]) ≤ rank kept."""
    n = 60
    acts, _ = problem(100, n, 4)
    eig = torch.zeros(n, dtype=F64)
    eig[:4] = torch.tensor([6.0, -4.0, 2.0, -1.0])
    f = quadratic(sym(n, 5, eig), torch.zeros(n, dtype=F64))
    dense = hessian_directions(acts, 3, f=f, mode="dense")
    gen = torch.Generator().manual_seed(0)
    low = hessian_directions(acts, 3, f=f, mode="hvp", rank=6, oversample=4, n_iter=3, generator=gen)
    assert low.method == "hessian-hvp"
    assert rel(low.matrix(), dense.matrix()) < 1e-7
    torch.testing.assert_close(low.singular_values, dense.singular_values, rtol=1e-7, atol=1e-12)


@LAWS
@given(st.integers(1, 3), st.integers(0, 10**6))
def test_hessian_directions_optimise_the_hessian_weighted_objective(k, seed):
    """tr((I − P)Σ(I − P)ᵀ·½|E[H]|) is minimal over rank-k projections (same Eckart–Young argument)."""
    acts, _ = problem(60, 5, seed)
    gen = torch.Generator().manual_seed(seed)
    h = sym(5, seed, torch.randn(5, generator=gen, dtype=F64) * 3)
    proj = hessian_directions(acts, k, hessian=h)
    _, sigma, _ = moments(acts, None)
    pi = 0.5 * absolute_psd(h)
    ours = linearised_objective(proj.matrix(), sigma, pi)
    b, c = torch.randn(5, k, generator=gen, dtype=F64), torch.randn(5, k, generator=gen, dtype=F64)
    rival = b @ torch.linalg.solve(c.mT @ b, c.mT)
    assert ours <= linearised_objective(rival, sigma, pi) * (1 + 1e-9)


def test_hessian_directions_beat_pca_on_a_quadratic_at_its_minimum():
    """∇f ≈ 0 at the mean: the second-order objective is lower with Hessian directions than with PCA."""
    gen = torch.Generator().manual_seed(0)
    n, p, k = 8, 3000, 2
    acts = torch.randn(p, n, generator=gen, dtype=F64) * torch.logspace(0.5, -0.5, n, dtype=F64)
    eig = torch.zeros(n, dtype=F64)
    eig[-2:] = torch.tensor([40.0, 25.0])  # curvature only along low-variance coordinates
    h = torch.diag(eig)
    mu = acts.mean(0)

    def f(x):
        return 0.5 * (((x - mu) @ h) * (x - mu)).sum(-1)

    ours = hessian_directions(acts, k, f=f).objective(f, acts)
    pca = important_directions(acts, None, k).objective(f, acts)
    assert ours < 0.1 * pca


# ---------------------------------------------------------------- §4.4 vector-valued
def test_vector_pi_is_the_sum_over_components():
    gen = torch.Generator().manual_seed(0)
    acts = torch.randn(50, 6, generator=gen, dtype=F64) @ mixing(6, gen)
    jac = torch.randn(50, 3, 6, generator=gen, dtype=F64)
    proj = vector_directions(acts, jac, 3, method="exact")
    mu, sigma, _ = moments(acts, None)
    pi = sum(jac[:, j].mT @ jac[:, j] for j in range(3)) / 50
    assert rel(proj.matrix(), directions_from_covariances(mu, sigma, pi, 3).matrix()) < 1e-8
    rand = vector_directions(
        acts, jac, 3, method="randomized", n_iter=30, generator=torch.Generator().manual_seed(1)
    )
    assert rel(rand.matrix(), proj.matrix()) < 1e-7


def test_linear_vector_f_of_rank_k_is_reproduced_exactly():
    """f(x) = Wx with rank(W) = 2: Π = WᵀW and the rank-2 projection loses nothing of f."""
    gen = torch.Generator().manual_seed(1)
    acts = torch.randn(200, 7, generator=gen, dtype=F64) @ mixing(7, gen) + 3
    w = torch.randn(4, 2, generator=gen, dtype=F64) @ torch.randn(2, 7, generator=gen, dtype=F64)
    jac = w.expand(200, 4, 7)
    proj = vector_directions(acts, jac, 2)

    def f(x):
        return x @ w.mT

    assert proj.objective(f, acts) < 1e-20
    assert proj.objective(f, acts) <= important_directions(acts, None, 2).objective(f, acts)
