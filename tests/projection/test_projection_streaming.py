"""The streaming accumulator equals the batch result, however the data is chunked."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from projection_helpers import moments, problem, rel
from torch.utils.data import DataLoader, TensorDataset

from attr_widgets.projection import DirectionsAccumulator, important_directions, vector_directions


def chunked(total, cuts):
    bounds = sorted({0, total, *[c % total for c in cuts]})
    return list(zip(bounds[:-1], bounds[1:], strict=True))


@settings(max_examples=20, deadline=None)
@given(
    st.integers(3, 60), st.integers(2, 9), st.lists(st.integers(0, 10**6), max_size=6), st.integers(0, 10**6)
)
def test_streaming_equals_batch_for_any_chunking(p, n, cuts, seed):
    acts, grads = problem(p, n, seed, offset=50.0)  # a large mean: the shifted moments must not cancel
    acc = DirectionsAccumulator()
    for start, stop in chunked(p, cuts):
        acc.update(acts[start:stop], grads[start:stop])
    assert acc.count == p
    stats = acc.moments()
    mu, sigma, pi = moments(acts, grads)
    torch.testing.assert_close(stats.mean, mu, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(stats.covariance, sigma, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(stats.gradient_moment, pi, rtol=1e-12, atol=1e-12)
    k = min(3, n)
    with pytest.warns() if p - 1 < k else _no_warning():
        streamed = acc.result(k)
        batch = important_directions(acts, grads, k, method="exact")
    assert streamed.method == "streaming" and streamed.n_samples == p
    assert rel(streamed.matrix(), batch.matrix()) < 1e-7
    torch.testing.assert_close(streamed.singular_values, batch.singular_values, rtol=1e-8, atol=1e-12)


class _no_warning:  # noqa: N801 (used like pytest.warns)
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_streaming_from_a_dataloader_in_float32():
    acts, grads = problem(1000, 16, 0, dtype=torch.float32)
    loader = DataLoader(TensorDataset(acts, grads), batch_size=64)
    acc = DirectionsAccumulator()
    for a, g in loader:
        acc.update(a, g)
    streamed = acc.result(4)
    batch = important_directions(acts, grads, 4, method="exact")
    assert streamed.act_basis.dtype == torch.float32
    torch.testing.assert_close(streamed.singular_values, batch.singular_values, rtol=1e-5, atol=0)
    assert rel(streamed.matrix(), batch.matrix()) < 1e-4


def test_merge_equals_one_pass_and_pca_mode():
    acts, grads = problem(90, 6, 1)
    a = DirectionsAccumulator().update(acts[:20], grads[:20])
    b = DirectionsAccumulator().update(acts[20:50], grads[20:50]).update(acts[50:], grads[50:])
    merged = a.merge(b).result(3)
    assert rel(merged.matrix(), important_directions(acts, grads, 3, method="exact").matrix()) < 1e-8
    pca = DirectionsAccumulator(pca=True)
    for start in range(0, 90, 25):
        pca.update(acts[start : start + 25])
    assert rel(pca.result(2).matrix(), important_directions(acts, None, 2).matrix()) < 1e-8
    empty = DirectionsAccumulator()
    assert empty.merge(DirectionsAccumulator().update(acts, grads)).count == 90


def test_streaming_jacobians_equal_vector_directions():
    gen = torch.Generator().manual_seed(3)
    acts = torch.randn(70, 5, generator=gen, dtype=torch.float64)
    jac = torch.randn(70, 3, 5, generator=gen, dtype=torch.float64)
    acc = DirectionsAccumulator()
    for start in range(0, 70, 16):
        acc.update(acts[start : start + 16], jacobians=jac[start : start + 16])
    assert rel(acc.result(2).matrix(), vector_directions(acts, jac, 2, method="exact").matrix()) < 1e-8


def test_streaming_with_leading_batch_dims():
    items = [problem(40, 5, s) for s in range(4)]
    acts = torch.stack([a for a, _ in items]).reshape(2, 2, 40, 5)
    grads = torch.stack([g for _, g in items]).reshape(2, 2, 40, 5)
    acc = DirectionsAccumulator(n=5, batch_shape=(2, 2))
    for start in range(0, 40, 7):
        acc.update(acts[..., start : start + 7, :], grads[..., start : start + 7, :])
    streamed = acc.result(2)
    batch = important_directions(acts, grads, 2, method="exact")
    assert rel(streamed.matrix(), batch.matrix()) < 1e-8


def test_state_size_is_independent_of_the_number_of_samples():
    """The docstring's memory bound: 2·n² float64 numbers (+ O(n)), whatever p is."""
    for p in (10, 2000):
        acts, grads = problem(p, 8, 0)
        acc = DirectionsAccumulator().update(acts, grads)
        held = [t for t in vars(acc).values() if isinstance(t, torch.Tensor)]
        assert sum(t.numel() for t in held) == 2 * 8 * 8 + 2 * 8
