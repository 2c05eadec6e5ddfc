"""The seed's theorems, executed: every identity claimed in §1–§3 of Hilton (2024), in float64."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from projection_helpers import (
    linearised_objective,
    mixing,
    moments,
    problem,
    psd_power,
    psd_sqrt_factor,
    rel,
)

from attr_widgets.projection import RankDeficiencyWarning, important_directions
from attr_widgets.projection._reference import get_projection

LAWS = settings(max_examples=20, deadline=None)
# Both exact routes: p <= n takes the data route, p > n the covariance route.
shapes = st.sampled_from([(6, 9), (12, 12), (40, 7), (25, 10), (9, 30)])
seeds = st.integers(0, 2**31 - 1)
methods = st.sampled_from(["exact", "randomized"])


def solve(acts, grads, k, method="exact"):
    gen = torch.Generator().manual_seed(0)
    # A generous n_iter makes the randomized result exact to float64 precision on these tiny problems.
    return important_directions(acts, grads, k, method=method, n_iter=30, oversample=20, generator=gen)


@LAWS
@given(shapes, st.integers(1, 5), seeds, methods)
def test_projection_is_idempotent(shape, k, seed, method):
    acts, grads = problem(*shape, seed)
    p_mat = solve(acts, grads, k, method).matrix()
    assert rel(p_mat @ p_mat, p_mat) < 1e-8


@LAWS
@given(shapes, st.integers(1, 5), seeds)
def test_gt_p_a_is_the_truncated_svd_of_gt_a(shape, k, seed):
    """G_ᵀPA = U S_k Vᵀ and the singular values are those of GᵀA (Σ = AAᵀ, Π = GGᵀ by eigendecomposition)."""
    acts, grads = problem(*shape, seed)
    proj = solve(acts, grads, k)
    _, sigma, pi = moments(acts, grads)
    a, g = psd_sqrt_factor(sigma), psd_sqrt_factor(pi)
    u, s, vh = torch.linalg.svd(g.mT @ a)
    r = proj.n_directions
    best = (u[:, :r] * s[:r]) @ vh[:r]
    assert rel(g.mT @ proj.matrix() @ a, best) < 1e-8
    torch.testing.assert_close(proj.singular_values, s[:r], rtol=1e-9, atol=1e-12)


@LAWS
@given(shapes, st.integers(1, 4), seeds, methods)
def test_invariance_under_linear_reparameterisation(shape, k, seed, method):
    """X → TX and f → f∘T⁻¹ (so ∇f → T⁻ᵀ∇f) give T P T⁻¹."""
    acts, grads = problem(*shape, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    t = mixing(shape[1], gen, 0.5, 2.0)
    t_inv = torch.linalg.inv(t)
    base = solve(acts, grads, k, method)
    moved = solve(acts @ t.mT, grads @ t_inv, k, method)
    assert rel(moved.matrix(), t @ base.matrix() @ t_inv) < 1e-7
    torch.testing.assert_close(moved.singular_values, base.singular_values, rtol=1e-8, atol=1e-12)
    torch.testing.assert_close(moved.mean, t @ base.mean, rtol=1e-10, atol=1e-10)


@LAWS
@given(shapes, st.integers(1, 5), seeds, methods)
def test_no_gradients_is_pca(shape, k, seed, method):
    """Π = I: P is the orthogonal projector onto the top-k principal components; σ are their std devs."""
    acts, _ = problem(*shape, seed)
    proj = solve(acts, None, k, method)
    _, sigma, _ = moments(acts, None)
    vals, vecs = torch.linalg.eigh(sigma)
    r = proj.n_directions
    top = vecs[:, -r:]
    assert rel(proj.matrix(), top @ top.mT) < 1e-8
    torch.testing.assert_close(proj.singular_values, vals.flip(0)[:r].sqrt(), rtol=1e-9, atol=1e-12)
    assert rel(proj.matrix(), proj.matrix().mT) < 1e-9


@LAWS
@given(shapes, seeds, methods)
def test_linear_f_gives_sigma_w_w_over_w_sigma_w(shape, seed, method):
    """f(x) = wᵀx ⇒ Π = wwᵀ and the method picks P = Σwwᵀ / (wᵀΣw), the one with PΣ symmetric."""
    acts, _ = problem(*shape, seed)
    w = torch.randn(shape[1], generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    grads = w.expand(shape[0], -1).clone()
    proj = solve(acts, grads, 1, method)
    _, sigma, _ = moments(acts, None)
    sw = sigma @ w
    assert rel(proj.matrix(), torch.outer(sw, w) / (w @ sw)) < 1e-8
    # and it optimises the objective perfectly: f(μ + P(X − μ)) = f(X)
    assert torch.allclose(proj(acts) @ w, acts @ w, rtol=1e-9, atol=1e-9)


def test_linear_f_with_k_above_rank_warns_and_returns_rank_one():
    acts, _ = problem(30, 6, 0)
    grads = torch.ones(30, 6, dtype=torch.float64)
    with pytest.warns(RankDeficiencyWarning, match="numerical rank 1"):
        proj = important_directions(acts, grads, 4, method="exact")
    assert proj.n_directions == 1 and int(proj.rank) == 1


@LAWS
@given(shapes, st.integers(1, 5), seeds, methods)
def test_p_sigma_and_pi_p_are_symmetric(shape, k, seed, method):
    acts, grads = problem(*shape, seed)
    p_mat = solve(acts, grads, k, method).matrix()
    _, sigma, pi = moments(acts, grads)
    assert rel(p_mat @ sigma, (p_mat @ sigma).mT) < 1e-8
    assert rel(pi @ p_mat, (pi @ p_mat).mT) < 1e-8


@LAWS
@given(shapes, st.integers(1, 5), seeds)
def test_bases_are_related_through_sigma_and_pi(shape, k, seed):
    """P_A ∝ Σ P_G and P_G ∝ Π P_A column by column; the factor is σ_i."""
    acts, grads = problem(*shape, seed)
    proj = solve(acts, grads, k)
    _, sigma, pi = moments(acts, grads)
    s = proj.singular_values
    assert rel(sigma @ proj.grad_basis, proj.act_basis * s) < 1e-8
    assert rel(pi @ proj.act_basis, proj.grad_basis * s) < 1e-8


@LAWS
@given(shapes, st.integers(1, 5), seeds)
def test_p_sigma_pt_is_an_orthogonal_projection_inside_sigma_and_in_precision_space(shape, k, seed):
    """PΣPᵀ = A V_r V_rᵀ Aᵀ and PΣPᵀ = (Q′Σ⁺Q′)⁺ with Q′ the orthogonal projector onto im P (seed §3.2)."""
    acts, grads = problem(*shape, seed)
    proj = solve(acts, grads, k)
    _, sigma, pi = moments(acts, grads)
    p_mat = proj.matrix()
    psp = p_mat @ sigma @ p_mat.mT
    a, g = psd_sqrt_factor(sigma), psd_sqrt_factor(pi)
    v = torch.linalg.svd(g.mT @ a).Vh.mT[:, : proj.n_directions]
    assert rel(psp, a @ v @ v.mT @ a.mT) < 1e-8
    pa = proj.act_basis
    q_img = pa @ torch.linalg.solve(pa.mT @ pa, pa.mT)
    rcond = 1e-10
    precision_space = torch.linalg.pinv(q_img @ torch.linalg.pinv(sigma, rtol=rcond) @ q_img, rtol=1e-8)
    assert rel(psp, precision_space) < 1e-6


@LAWS
@given(shapes, st.integers(1, 5), seeds)
def test_p_is_orthogonal_in_the_pi_and_sigma_inner_products(shape, k, seed):
    """Π^½ P Π^-½ and Σ^-½ P Σ^½ are orthogonal projections (symmetric and idempotent) when Σ, Π invert."""
    p_count, n = shape
    if p_count <= n:  # Σ and Π are singular with p <= n samples
        p_count = 3 * n
    acts, grads = problem(p_count, n, seed)
    p_mat = solve(acts, grads, k).matrix()
    _, sigma, pi = moments(acts, grads)
    for m in (
        psd_power(pi, 0.5) @ p_mat @ psd_power(pi, -0.5),
        psd_power(sigma, -0.5) @ p_mat @ psd_power(sigma, 0.5),
    ):
        assert rel(m, m.mT) < 1e-7
        assert rel(m @ m, m) < 1e-7


@LAWS
@given(shapes, st.integers(1, 4), seeds, seeds)
def test_eckart_young_no_rank_k_projection_does_better(shape, k, seed, other_seed):
    """The linearised objective is Σ_{i>r} σ_i²; no other rank-k projection (oblique included) beats it."""
    acts, grads = problem(*shape, seed)
    proj = solve(acts, grads, k)
    _, sigma, pi = moments(acts, grads)
    ours = linearised_objective(proj.matrix(), sigma, pi)
    all_sv = torch.linalg.svdvals(psd_sqrt_factor(pi).mT @ psd_sqrt_factor(sigma))
    tail = all_sv[proj.n_directions :].square().sum()
    assert abs(ours.item() - tail.item()) <= 1e-8 * all_sv.square().sum().item()
    gen = torch.Generator().manual_seed(other_seed)
    r = proj.n_directions
    b = torch.randn(shape[1], r, generator=gen, dtype=torch.float64)
    c = torch.randn(shape[1], r, generator=gen, dtype=torch.float64)
    rival = b @ torch.linalg.solve(c.mT @ b, c.mT)  # a random oblique rank-r projection
    assert ours <= linearised_objective(rival, sigma, pi) * (1 + 1e-9)


@pytest.mark.parametrize("shape", [(8, 20), (20, 20), (60, 12)])
@pytest.mark.parametrize("method", ["exact", "randomized"])
def test_matches_the_seed_reference_code(shape, method):
    """Same P_A, P_G as the seed's 10 lines (our σ are theirs divided by p, the sample count)."""
    acts, grads = problem(*shape, 7)
    k = 4
    ref_a, ref_g = get_projection(acts, grads, k)
    proj = solve(acts, grads, k, method)
    assert rel(proj.matrix(), ref_a @ ref_g.mT) < 1e-9
    # the bases themselves agree up to a joint sign per column
    sign = torch.sign((proj.act_basis * ref_a).sum(0))
    assert rel(proj.act_basis, ref_a * sign) < 1e-8
    assert rel(proj.grad_basis, ref_g * sign) < 1e-8
    xc = acts - acts.mean(0)
    a = torch.linalg.svd(xc.mT, full_matrices=False)
    g = torch.linalg.svd(grads.mT, full_matrices=False)
    ref_s = torch.linalg.svdvals((g.U * g.S).mT @ (a.U * a.S))[:k]
    torch.testing.assert_close(proj.singular_values, ref_s / shape[0], rtol=1e-9, atol=0)


def test_no_warning_when_rank_suffices():
    acts, grads = problem(30, 8, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        important_directions(acts, grads, 8, method="exact")
