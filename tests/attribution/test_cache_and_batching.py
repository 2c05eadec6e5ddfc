"""Results cached by their settings; internal batching is invisible in the values; OOM halves and retries."""

import warnings

import pytest
import torch
from attr_test_models import images, small_cnn, tanh_mlp
from torch import nn

import attr_widgets.attribution as A
from attr_widgets.attribution import _batching, _cache, attribute


@pytest.fixture(autouse=True)
def _fresh_cache():
    A.clear_cache()
    yield
    A.clear_cache()


def test_same_settings_return_the_cached_result():
    model, x = small_cnn(), images()
    first = attribute(model, x, method="integrated_gradients", n_steps=8)
    other = attribute(model, x, method="integrated_gradients", n_steps=9)
    assert attribute(model, x.clone(), method="integrated_gradients", n_steps=8) is first
    assert attribute(model, x, method="integrated_gradients", n_steps=9) is other
    assert attribute(model, x, method="integrated_gradients", n_steps=8, cache=False) is not first


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m[0].weight.data.add_(0.1),
        lambda m: torch.nn.init.normal_(m[6].weight),
        lambda m: m.load_state_dict(small_cnn(seed=9).state_dict()),
        lambda m: m.train(),
        lambda m: m[6].weight.requires_grad_(False),
    ],
    ids=["data-add", "init", "load_state_dict", "train-mode", "requires_grad"],
)
def test_cache_invalidates_when_the_model_changes(change):
    model, x = small_cnn(), images()
    first = attribute(model, x, method="saliency")
    change(model)
    second = attribute(model, x, method="saliency")
    assert second is not first


def test_weight_update_by_an_optimizer_invalidates_and_gives_new_values():
    model, x = small_cnn(), images()
    first = attribute(model, x, method="saliency", target=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model(x)[:, 0].sum().backward()
    optimizer.step()
    model.zero_grad(set_to_none=True)
    second = attribute(model, x, method="saliency", target=0)
    assert not torch.allclose(first.values, second.values)
    assert torch.equal(second.values, attribute(model, x, method="saliency", target=0, cache=False).values)


def test_different_inputs_targets_baselines_are_different_entries():
    model, x = small_cnn(), images()
    base = attribute(model, x, method="integrated_gradients", n_steps=4)
    assert attribute(model, x + 0.01, method="integrated_gradients", n_steps=4) is not base
    assert attribute(model, x, method="integrated_gradients", n_steps=4, target=2) is not base
    assert (
        attribute(model, x, method="integrated_gradients", n_steps=4, baseline=torch.ones(3, 8, 8))
        is not base
    )
    assert (
        attribute(model, x, method="integrated_gradients", n_steps=4, integration="riemann_middle")
        is not base
    )


def test_cache_is_bounded_lru():
    model, x = tanh_mlp(), torch.randn(2, 6, dtype=torch.float64)
    first = attribute(model, x, method="integrated_gradients", n_steps=2)
    for n in range(3, 3 + _cache.MAX_ENTRIES):
        attribute(model, x, method="integrated_gradients", n_steps=n)
    assert _cache.cache_size() == _cache.MAX_ENTRIES
    assert attribute(model, x, method="integrated_gradients", n_steps=2) is not first


def test_uncacheable_settings_skip_the_cache():
    model, x = small_cnn(), images()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.rand(4, 3, 8, 8)), batch_size=2)
    a = attribute(model, x, method="integrated_gradients", baseline="mean", data=loader, n_steps=4)
    b = attribute(model, x, method="integrated_gradients", baseline="mean", data=loader, n_steps=4)
    assert a is not b and torch.equal(a.values, b.values)


@pytest.mark.parametrize("size", [None, 1, 7, 32, "auto"])
def test_internal_batch_size_does_not_change_values(size):
    model, x = small_cnn(), images()
    reference = attribute(
        model, x, method="integrated_gradients", n_steps=10, internal_batch_size=None, cache=False
    )
    result = attribute(
        model, x, method="integrated_gradients", n_steps=10, internal_batch_size=size, cache=False
    )
    torch.testing.assert_close(result.values, reference.values, rtol=1e-5, atol=1e-7)


def test_auto_batch_size_follows_the_memory_budget():
    model, x = small_cnn(), images()
    probe = x.clone().requires_grad_(True)
    _, per_row = _batching.saved_bytes_per_row(model, lambda: model(probe), x.shape[0])
    _, per_row_double = _batching.saved_bytes_per_row(model, lambda: model(torch.cat([probe, probe])), 6)
    assert per_row > 0 and per_row == pytest.approx(per_row_double)
    rows = _batching.plan_rows("auto", 10_000, per_row, torch.device("cpu"), budget=int(per_row * 2 * 40))
    assert rows == 40
    assert _batching.plan_rows(None, 500, per_row, torch.device("cpu")) == 500
    assert _batching.plan_rows(16, 500, per_row, torch.device("cpu")) == 16
    small = attribute(model, x, method="integrated_gradients", n_steps=10, memory_budget=int(per_row * 2 * 5))
    full = attribute(
        model, x, method="integrated_gradients", n_steps=10, internal_batch_size=None, cache=False
    )
    torch.testing.assert_close(small.values, full.values, rtol=1e-5, atol=1e-7)


class RowLimitedModel(nn.Module):
    """Raises the out-of-memory error torch raises on a device, above a row limit (like a small GPU would)."""

    def __init__(self, inner: nn.Module, max_rows: int) -> None:
        super().__init__()
        self.inner, self.max_rows = inner, max_rows
        self.rows_seen: list[int] = []

    def forward(self, x):
        self.rows_seen.append(x.shape[0])
        if x.shape[0] > self.max_rows:
            raise _batching.OutOfMemoryError(f"out of memory: {x.shape[0]} rows > {self.max_rows}")
        return self.inner(x)


def test_out_of_memory_halves_the_chunk_and_says_so_once():
    inner, x = small_cnn(), images()
    model = RowLimitedModel(inner, max_rows=7)
    with pytest.warns(A.AttributionWarning, match="internal_batch_size=30") as caught:
        result = attribute(model, x, method="integrated_gradients", n_steps=10, internal_batch_size=30)
    assert len([w for w in caught if issubclass(w.category, A.AttributionWarning)]) == 1
    assert max(r for r in model.rows_seen[1:] if r <= 7) <= 7
    reference = attribute(inner, x, method="integrated_gradients", n_steps=10, cache=False)
    torch.testing.assert_close(result.values, reference.values, rtol=1e-5, atol=1e-7)


def test_out_of_memory_at_one_row_is_raised():
    model = RowLimitedModel(small_cnn(), max_rows=0)
    with pytest.raises(_batching.OutOfMemoryError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attribute(model, images(1), method="saliency", target=0)


@pytest.mark.parametrize("method", ["occlusion", "feature_ablation", "smoothgrad"])
def test_out_of_memory_in_captum_batched_methods_halves_too(method):
    inner, x = small_cnn(), images(2)
    model = RowLimitedModel(inner, max_rows=4)
    options = {"sliding_window_shapes": (3, 2, 2)} if method == "occlusion" else {}
    if method == "smoothgrad":
        options = {"nt_samples": 8}
    with pytest.warns(A.AttributionWarning, match="retrying"):
        result = attribute(model, x, method=method, target=1, internal_batch_size=64, **options)
    reference = attribute(inner, x, method=method, target=1, cache=False, **options)
    torch.testing.assert_close(result.values, reference.values, rtol=1e-5, atol=1e-6)
