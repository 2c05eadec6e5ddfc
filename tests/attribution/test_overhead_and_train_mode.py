"""Single-pass methods run the model once; cached results survive caller mutation; train mode left alone."""

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

import attr_widgets.attribution as A
from attr_widgets.attribution import _cache, attribute

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_overhead.py"
SINGLE_PASS = ("saliency", "input_x_gradient", "x_gradient")


@pytest.fixture(autouse=True)
def _fresh_cache():
    A.clear_cache()
    yield
    A.clear_cache()


class CountingMLP(nn.Module):
    """A bias-free ReLU MLP (homogeneous) that counts its forward calls and the rows they carry."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Linear(6, 8, bias=False), nn.ReLU(), nn.Linear(8, 3, bias=False))
        self.rows: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.rows.append(x.shape[0])
        return self.body(x)


def _bn_dropout_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3)
    ).train()


# Self-implemented single-pass and path methods, and a Captum hook-based one.
METHODS_IN_TRAIN_MODE = {
    "saliency": {},
    "x_gradient": {"check_homogeneous": False},
    "integrated_gradients": {"n_steps": 4},
    "deeplift": {},
}


@pytest.mark.parametrize("method", ["saliency", "input_x_gradient"])
def test_single_pass_methods_run_one_forward_on_the_batch(method):
    model, x = CountingMLP().eval(), torch.randn(5, 6)
    attribute(model, x, method=method, cache=False)
    assert model.rows == [5]


def test_x_gradient_adds_only_one_zero_row_for_f_of_zero():
    model, x = CountingMLP().eval(), torch.randn(5, 6)
    attribute(model, x, method="x_gradient", check_homogeneous=False, cache=False)
    assert model.rows == [5, 1]


class CountingBiasedMLP(CountingMLP):
    """Biases make f(0) ≠ 0, so a stale f(0) would show in ``baseline_outputs`` and ``delta``."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


def test_x_gradient_reuses_f_of_zero_until_the_model_changes():
    model, x = CountingBiasedMLP().eval(), torch.randn(5, 6)
    options = {"method": "x_gradient", "check_homogeneous": False, "cache": False}
    first = attribute(model, x, **options)
    second = attribute(model, x, **options)
    assert model.rows == [5, 1, 5]  # the second call answers f(0) from the first
    torch.testing.assert_close(second.baseline_outputs, first.baseline_outputs)
    with torch.no_grad():
        model.body[2].bias += 1.0  # an in-place update (as optimizer.step() makes) bumps the version
    third = attribute(model, x, **options)
    assert model.rows[3:] == [5, 1]
    with torch.no_grad():
        expected = model.body(torch.zeros(1, 6))[0, third.target]
    torch.testing.assert_close(third.baseline_outputs, expected)
    torch.testing.assert_close(third.delta, third.values.sum(dim=1) - (third.outputs - expected))
    model.train()  # a mode change is part of the key too: f(0) runs again
    attribute(model, x, **options)
    assert model.rows[5:] == [5, 1]  # plain layers compute the same in train mode: one shared row
    model.body.insert(1, nn.Dropout(0.5))  # dropout in train mode: every row draws its own mask
    attribute(model, x, **options)
    assert model.rows[7:] == [5, 5]  # f(0) of the whole batch, no sharing


@pytest.mark.parametrize("method", SINGLE_PASS)
def test_single_pass_equals_the_chunked_gradient(method):
    model, x = CountingMLP().eval(), torch.randn(5, 6)
    one = attribute(model, x, method=method, cache=False)
    chunked = attribute(model, x, method=method, internal_batch_size=2, cache=False)
    torch.testing.assert_close(one.values, chunked.values, rtol=0, atol=1e-6)
    probe = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(probe).gather(1, one.target[:, None]).sum(), probe)
    expected = grad if method == "saliency" else x * grad
    torch.testing.assert_close(one.values, expected)
    if method == "x_gradient":
        torch.testing.assert_close(one.baseline_outputs, torch.zeros(5))
        torch.testing.assert_close(one.delta, chunked.delta)


def test_single_pass_progress_ends_with_done_equal_total():
    model, x = CountingMLP().eval(), torch.randn(4, 6)
    seen = []
    attribute(model, x, method="x_gradient", progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] and all(done <= total for done, total in seen)


@pytest.mark.parametrize("field", ["values", "delta", "outputs", "baseline_outputs"])
def test_cached_result_mutated_by_the_caller_is_not_returned_again(field):
    model, x = CountingMLP().eval(), torch.randn(4, 6) + 1
    first = attribute(model, x, method="x_gradient")
    reference = {name: getattr(first, name).clone() for name in ("values", "delta", "outputs")}
    assert attribute(model, x, method="x_gradient") is first  # untouched: a cache hit
    getattr(first, field).mul_(0).add_(7)
    again = attribute(model, x, method="x_gradient")
    assert again is not first
    for name, value in reference.items():
        torch.testing.assert_close(getattr(again, name), value)
    assert attribute(model, x, method="x_gradient") is again  # the fresh result is cached in its place


def test_train_mode_warns_once_and_leaves_state_untouched():
    model, x = _bn_dropout_net(), torch.randn(6, 6)
    bn = model[1]
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    buffers = {name: tensor for name, tensor in model.named_buffers()}
    sentinels = {name: torch.full_like(p, 3.0) for name, p in model.named_parameters()}
    for name, p in model.named_parameters():
        p.grad = sentinels[name]
    flags = [m.training for m in model.modules()]
    with pytest.warns(UserWarning, match=r"training mode.*model\.eval\(\)") as caught:
        for method, options in METHODS_IN_TRAIN_MODE.items():
            attribute(model, x, method=method, **options)
    assert sum("training mode" in str(w.message) for w in caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning for the same model
        attribute(model, x, method="saliency")
    assert [m.training for m in model.modules()] == flags
    for name, tensor in model.state_dict().items():
        assert tensor.dtype == before[name].dtype and torch.equal(tensor, before[name]), name
    assert bn.num_batches_tracked.item() == 0
    assert all(tensor is buffers[name] for name, tensor in model.named_buffers())
    assert all(p.grad is sentinels[name] for name, p in model.named_parameters())
    assert torch.equal(model[0].weight.grad, torch.full_like(model[0].weight, 3.0))


def test_train_mode_results_are_not_cached():
    model, x = _bn_dropout_net(), torch.randn(6, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        first = attribute(model, x, method="saliency")
        assert attribute(model, x, method="saliency") is not first
        assert _cache.cache_size() == 0


def test_plain_layers_in_default_train_mode_do_not_warn_and_still_cache():
    model, x = CountingMLP(), torch.randn(3, 6)  # nn.Module starts in train mode; ReLU/Linear don't care
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = attribute(model, x, method="saliency")
    assert attribute(model, x, method="saliency") is first


def test_overhead_benchmark_quick_run_prints_its_table():
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    assert any(
        "bare" in line and "ours" in line and "ratio" in line and "cache hit" in line for line in lines
    )
    for model in ("mlp", "digits_cnn"):
        for row in (*SINGLE_PASS, "x_gradient vs IG-50"):
            assert any(line.startswith(model) and f" {row} " in f"{line} " for line in lines), (model, row)
    assert "Warning" not in completed.stderr
