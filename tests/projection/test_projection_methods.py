"""Exact vs randomized vs auto, precision, batching, rank deficiency, and the randomized no-n×n promise."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from projection_helpers import low_rank, moments, peak_torch_bytes, problem, rel
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from attr_widgets.projection import (
    RankDeficiencyWarning,
    _blocks,
    choose_method,
    directions_from_covariances,
    important_directions,
)
from attr_widgets.projection._exact import _data_route, exact_directions


def spiked(p, n, seed, *, dtype=torch.float32, offset=10.0, latent=24):
    """Power-law latent factors + isotropic noise: a gap after the top directions, a large mean offset."""
    gen = torch.Generator().manual_seed(seed)
    scales = (1.0 + torch.arange(latent, dtype=torch.float64)) ** -1.0
    acts = (torch.randn(p, latent, generator=gen, dtype=torch.float64) * scales) @ torch.randn(
        latent, n, generator=gen, dtype=torch.float64
    )
    acts = acts + 0.01 * torch.randn(p, n, generator=gen, dtype=torch.float64) + offset
    grads = (torch.randn(p, latent, generator=gen, dtype=torch.float64) * scales) @ torch.randn(
        latent, n, generator=gen, dtype=torch.float64
    )
    return acts.to(dtype), grads.to(dtype)


@pytest.mark.parametrize("shape", [(300, 120), (120, 300)])  # covariance route, data route
def test_exact_float32_top_k_singular_values_within_1e_3(shape):
    acts, grads = spiked(*shape, 0)
    k = 8
    truth = important_directions(acts.double(), grads.double(), k, method="exact")
    got = important_directions(acts, grads, k, method="exact")
    assert got.singular_values.dtype == torch.float32
    err = ((got.singular_values.double() - truth.singular_values) / truth.singular_values).abs().max()
    assert err < 1e-3
    assert rel(got.matrix().double(), truth.matrix()) < 1e-3


@settings(max_examples=15, deadline=None)
@given(st.integers(4, 40), st.integers(3, 25), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_both_exact_routes_agree(p, n, k, seed):
    """The data route (p×p) and the covariance route (n×n) are the same algorithm."""
    acts, grads = problem(p, n, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficiencyWarning)
        from attr_widgets.projection._validate import default_rtol

        tol = default_rtol(torch.float64, n)
        data = _data_route(acts, acts.mean(0), grads, 1.0 / p, k, tol, torch.float64)
        mu, sigma, pi = moments(acts, grads)
        cov = directions_from_covariances(mu, sigma, pi, k)
    assert data.n_directions == cov.n_directions
    assert rel(data.matrix(), cov.matrix()) < 1e-7
    torch.testing.assert_close(data.singular_values, cov.singular_values, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("pca", [False, True])
def test_randomized_agrees_with_exact(dtype, pca):
    acts, grads = spiked(2000, 300, 1, dtype=dtype)
    grads = None if pca else grads
    k = 6
    exact = important_directions(acts, grads, k, method="exact")
    fast = important_directions(
        acts, grads, k, method="randomized", generator=torch.Generator().manual_seed(0)
    )
    assert fast.method == "randomized" and fast.singular_values.dtype == dtype
    err = ((fast.singular_values - exact.singular_values) / exact.singular_values).abs().max().item()
    assert err < 1e-4
    assert rel(fast.matrix(), exact.matrix()) < 1e-2
    assert rel(fast.act_basis, exact.act_basis) < 1e-2  # same sign convention
    torch.testing.assert_close(fast.mean, exact.mean)


def test_randomized_is_reproducible_with_a_generator():
    acts, grads = spiked(500, 80, 2)
    run = lambda seed: important_directions(  # noqa: E731
        acts,
        grads,
        4,
        method="randomized",
        n_iter=0,
        oversample=2,
        generator=torch.Generator().manual_seed(seed),
    )
    a, b, c = run(5), run(5), run(6)
    assert torch.equal(a.act_basis, b.act_basis) and torch.equal(a.singular_values, b.singular_values)
    assert not torch.equal(a.singular_values, c.singular_values)  # the sketch really is random


class RecordAllocations(TorchDispatchMode):
    """Records the shape of every tensor an op returns in fresh storage (views and in-place ops skipped)."""

    def __init__(self):
        super().__init__()
        self.shapes = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        inputs = {
            t.untyped_storage().data_ptr()
            for t in tree_flatten((args, kwargs))[0]
            if isinstance(t, torch.Tensor)
        }
        out = func(*args, **kwargs)
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in inputs:
                self.shapes.append((str(func), tuple(t.shape)))
        return out


@pytest.mark.parametrize("pca", [False, True])
def test_randomized_never_allocates_n_by_n_or_p_by_p(monkeypatch, pca):
    """Every tensor any torch op creates is recorded; none is n×n, p×p, or even as large as min(n, p)²."""
    p, n, k = 90, 70, 3
    monkeypatch.setattr(_blocks, "BLOCK_ELEMENTS", 16 * n)  # force the blocked centring path (16-row blocks)
    acts, grads = spiked(p, n, 3)
    grads = None if pca else grads
    with RecordAllocations() as rec:
        proj = important_directions(acts, grads, k, method="randomized", oversample=4, n_iter=2)
    assert proj.n_directions == k
    assert rec.shapes, "the dispatch mode saw no ops"
    biggest = max(math.prod(s) for _, s in rec.shapes)
    assert biggest < min(n, p) ** 2, max(rec.shapes, key=lambda fs: math.prod(fs[1]))
    for _, shape in rec.shapes:
        assert shape[-2:] not in ((n, n), (p, p))


@pytest.mark.parametrize("pca", [False, True])
def test_randomized_peak_memory_is_far_below_one_copy_of_the_input(pca):
    """Counting every torch allocation, kernels' internal buffers included (the benchmark measures RSS)."""
    p, n = 20_000, 1_000
    acts, grads = spiked(p, n, 6, latent=12)
    grads = None if pca else grads
    input_bytes = p * n * 4
    peak, proj = peak_torch_bytes(
        lambda: important_directions(acts, grads, 4, method="randomized", oversample=4, n_iter=1)
    )
    assert proj.n_directions == 4
    assert 0 < peak < input_bytes / 4
    # the probe sees allocations made inside kernels: a float64 sum casts the whole float32 input first
    cast_peak, _ = peak_torch_bytes(lambda: acts.sum(-2, dtype=torch.float64))
    assert cast_peak >= 2 * input_bytes


def test_exact_does_form_the_small_square_so_the_check_above_has_teeth():
    acts, grads = spiked(90, 70, 3)
    with RecordAllocations() as rec:
        important_directions(acts, grads, 3, method="exact")
    assert any(s[-2:] in ((70, 70), (90, 90)) for _, s in rec.shapes)


def test_auto_picks_by_size():
    assert choose_method(10_000, 64, 8) == "exact"
    assert choose_method(300, 300, 8) == "exact"
    assert choose_method(10_000, 1024, 8) == "randomized"
    assert choose_method(10_000, 1024, 300) == "exact"
    acts, grads = spiked(600, 40, 4)
    assert important_directions(acts, grads, 3).method == "exact"


@pytest.mark.parametrize("method", ["exact", "randomized"])
@pytest.mark.parametrize("shape", [(40, 12), (10, 16)])
def test_leading_batch_dims_equal_per_item_results(method, shape):
    items = [problem(*shape, seed) for seed in range(6)]
    acts = torch.stack([a for a, _ in items]).reshape(2, 3, *shape)
    grads = torch.stack([g for _, g in items]).reshape(2, 3, *shape)
    gen = torch.Generator().manual_seed(0)
    batched = important_directions(acts, grads, 3, method=method, n_iter=25, oversample=9, generator=gen)
    assert batched.act_basis.shape == (2, 3, shape[1], 3) and batched.mean.shape == (2, 3, shape[1])
    for i in range(6):
        a, g = items[i]
        single = important_directions(a, g, 3, method=method, n_iter=25, oversample=9, generator=gen)
        b = divmod(i, 3)
        assert rel(batched.matrix()[b], single.matrix()) < 1e-8
        torch.testing.assert_close(batched.singular_values[b], single.singular_values, rtol=1e-8, atol=1e-12)
        torch.testing.assert_close(batched.act_basis[b], single.act_basis, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("method", ["exact", "randomized"])
@pytest.mark.parametrize("which", ["acts", "grads"])
def test_rank_deficient_inputs_return_the_rank_they_have(dtype, method, which):
    p, n, rank = 80, 12, 3
    acts, grads = problem(p, n, 1, dtype=dtype)
    if which == "acts":
        acts = low_rank(p, n, rank, 2, dtype=dtype)
    else:
        grads = low_rank(p, n, rank, 2, dtype=dtype, offset=0.0)
    with pytest.warns(RankDeficiencyWarning):
        proj = important_directions(acts, grads, 6, method=method, generator=torch.Generator().manual_seed(0))
    assert proj.n_directions == rank and int(proj.rank) == rank
    for t in (proj.act_basis, proj.grad_basis, proj.singular_values):
        assert torch.isfinite(t).all()
    p_mat = proj.matrix().double()
    assert rel(p_mat @ p_mat, p_mat) < (1e-3 if dtype == torch.float32 else 1e-8)


def test_batch_items_with_different_ranks_are_zero_padded():
    full, grads = problem(50, 8, 0)
    deficient = low_rank(50, 8, 2, 1)
    acts = torch.stack([full, deficient])
    with pytest.warns(RankDeficiencyWarning, match="zero-padded"):
        proj = important_directions(acts, torch.stack([grads, grads]), 4, method="exact")
    assert proj.n_directions == 4
    assert proj.rank.tolist() == [4, 2]
    assert torch.all(proj.singular_values[1, 2:] == 0) and torch.all(proj.act_basis[1, :, 2:] == 0)
    p1 = proj.matrix()[1]
    assert rel(p1 @ p1, p1) < 1e-8


@pytest.mark.parametrize("method", ["exact", "randomized"])
def test_zero_gradients_and_constant_activations_give_rank_zero_without_nan(method):
    acts, grads = problem(30, 5, 0)
    for a, g in ((acts, torch.zeros_like(grads)), (torch.ones_like(acts), grads)):
        with pytest.warns(RankDeficiencyWarning, match="rank 0"):
            proj = important_directions(a, g, 2, method=method)
        assert proj.n_directions == 0 and proj.act_basis.shape == (5, 0)
        assert torch.equal(proj.matrix(), torch.zeros(5, 5, dtype=acts.dtype))
        torch.testing.assert_close(proj(acts), a.mean(0).expand_as(acts))


@pytest.mark.parametrize("method", ["exact", "randomized"])
def test_scale_invariance_and_extreme_magnitudes_in_float32(method):
    """P is unchanged by X → cX, ∇f → d∇f; σ scales by c·d; nothing overflows at 1e±15."""
    acts, grads = spiked(400, 30, 5)
    base = important_directions(acts, grads, 3, method=method, generator=torch.Generator().manual_seed(0))
    big = important_directions(
        acts * 1e15, grads * 1e-15, 3, method=method, generator=torch.Generator().manual_seed(0)
    )
    for t in (big.act_basis, big.grad_basis, big.singular_values):
        assert torch.isfinite(t).all()
    assert rel(big.matrix(), base.matrix()) < 1e-3
    torch.testing.assert_close(big.singular_values, base.singular_values, rtol=1e-3, atol=0)


def test_two_samples_is_enough():
    acts = torch.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
    grads = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    proj = important_directions(acts, grads, 1)
    assert proj.n_directions == 1
    # the only variance is along (1, 0, -1) and f reads coordinate 0: P maps x − μ onto that line
    torch.testing.assert_close(proj(acts), acts)


def test_exact_directions_with_more_gradient_rows_than_samples_uses_the_q_side():
    acts, _ = problem(6, 40, 0)
    rows = torch.randn(30, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    from attr_widgets.projection._validate import default_rtol

    tol = default_rtol(torch.float64, 40)
    few = exact_directions(acts, rows[:4], 0.5, 3, tol, out_dtype=torch.float64)  # q < p: MMᵀ side
    mu, sigma, _ = moments(acts, None)
    ref = directions_from_covariances(mu, sigma, 0.5 * rows[:4].mT @ rows[:4], 3)
    assert rel(few.matrix(), ref.matrix()) < 1e-8
