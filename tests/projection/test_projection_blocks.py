"""The row-blocked products equal their one-shot definitions, batched or not, with a large mean offset."""

from __future__ import annotations

import pytest
import torch

from attr_widgets.projection import _blocks


@pytest.fixture(params=[(), (2, 3)], ids=["unbatched", "batched"])
def data(request, monkeypatch):
    monkeypatch.setattr(_blocks, "BLOCK_ELEMENTS", 7 * 5)  # 7-row blocks for n=5 (batch 1): uneven last block
    monkeypatch.setattr(_blocks, "MOMENT_BLOCK_ELEMENTS", 7 * 5)
    gen = torch.Generator().manual_seed(0)
    batch = request.param
    x = torch.randn(*batch, 30, 5, generator=gen, dtype=torch.float64) + 1e4
    return x, x.mean(-2)


def test_centered_products(data):
    x, mu = data
    gen = torch.Generator().manual_seed(1)
    w = torch.randn(*x.shape[:-2], 30, 4, generator=gen, dtype=torch.float64)
    v = torch.randn(*x.shape[:-2], 5, 4, generator=gen, dtype=torch.float64)
    xc = x - mu.unsqueeze(-2)
    torch.testing.assert_close(_blocks.centered_t_matmul(x, mu, w), xc.mT @ w)
    torch.testing.assert_close(_blocks.centered_matmul(x, mu, v), xc @ v)


def test_moments(data):
    x, mu = data
    shift = mu + 0.5
    total, gram = _blocks.shifted_moments(x, shift)
    xs = x - shift.unsqueeze(-2)
    torch.testing.assert_close(total, xs.sum(-2))
    torch.testing.assert_close(gram, xs.mT @ xs)
    torch.testing.assert_close(_blocks.second_moment(x), x.mT @ x)


@pytest.mark.parametrize("n", [5, 600])  # one tile, and the symmetric 4×4 tiling (uneven tile widths)
def test_tiled_gram_is_the_full_gram(n):
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 40, n, generator=gen, dtype=torch.float64)
    for batch in (x[0], x):
        torch.testing.assert_close(_blocks.second_moment(batch), batch.mT @ batch)
        zero_shift = torch.zeros(batch.shape[:-2] + (n,), dtype=torch.float64)
        total, gram = _blocks.shifted_moments(batch, zero_shift)
        torch.testing.assert_close(gram, batch.mT @ batch)
        torch.testing.assert_close(total, batch.sum(-2))


def test_float32_centring_keeps_precision_under_a_large_offset(monkeypatch):
    """μ is subtracted (as float32 hi + lo) before multiplying, so a mean of 1e4 costs nothing in float32."""
    monkeypatch.setattr(_blocks, "BLOCK_ELEMENTS", 64 * 8)
    gen = torch.Generator().manual_seed(2)
    x64 = torch.randn(1000, 8, generator=gen, dtype=torch.float64) + 1e4
    x32 = x64.float()
    mu = x32.double().mean(0)
    w = torch.randn(1000, 3, generator=gen, dtype=torch.float64)
    exact = (x32.double() - mu).mT @ w
    blocked = _blocks.centered_t_matmul(x32, mu, w.float()).double()
    # the cancelling shortcut Xᵀw − μ(1ᵀw):
    implicit = (x32.mT @ w.float() - mu.float()[:, None] * w.float().sum(0)).double()
    err_blocked = ((blocked - exact).abs().max() / exact.abs().max()).item()
    err_implicit = ((implicit - exact).abs().max() / exact.abs().max()).item()
    assert err_blocked < 1e-5
    assert err_implicit > 10 * err_blocked
