"""Layer Integrated Gradients without recomputing the prefix: equal to Captum, whatever the architecture."""

import pytest
import torch
from attr_test_models import all_hook_dicts_empty
from captum.attr import IntegratedGradients, LayerIntegratedGradients
from torch import nn

from attr_widgets.attribution import attribute


class DeepMLP(nn.Sequential):
    features = 12

    def __init__(self) -> None:
        torch.manual_seed(0)
        layers: list[nn.Module] = []
        for _ in range(6):
            layers += [nn.Linear(12, 12), nn.Tanh()]
        super().__init__(*layers, nn.Linear(12, 4))


class Residual(nn.Module):
    """A skip connection around the attributed layer: the prefix's output reaches the suffix directly."""

    features = 8

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.stem = nn.Sequential(nn.Linear(8, 8), nn.Tanh())
        self.block = nn.Sequential(nn.Linear(8, 8), nn.Tanh())
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        h = self.stem(x)
        return self.head(h + self.block(h))


class BatchSizeFromInput(nn.Module):
    """Reads the batch size from the input (as many models do in a reshape): only the full strategy works."""

    features = 6

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.stem = nn.Linear(6, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        h = self.stem(x)
        return self.head(torch.tanh(h).reshape(x.shape[0], -1))


def _captum(model, layer, x, target, n_steps, baseline=None, method="gausslegendre"):
    lig = LayerIntegratedGradients(model, layer)
    return lig.attribute(x, baselines=baseline, target=target, n_steps=n_steps, method=method)


@pytest.mark.parametrize(
    ("build", "layer_name", "strategy"),
    [(DeepMLP, "5", "batched"), (Residual, "block", "per_example"), (BatchSizeFromInput, "stem", "full")],
)
def test_layer_ig_equals_captum_for_each_strategy(build, layer_name, strategy):
    model = build().double().eval()
    x = torch.randn(4, build.features, dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 1])
    layer = dict(model.named_modules())[layer_name]
    ours = attribute(
        model, x, method="layer_integrated_gradients", layer=layer_name, target=target, n_steps=16
    )
    theirs = _captum(model, layer, x, target, 16)
    torch.testing.assert_close(ours.values, theirs, rtol=1e-9, atol=1e-12)
    assert ours.info["strategy"] == strategy
    assert ours.relative_delta.max() < 1e-6
    assert all_hook_dicts_empty(model)


def test_prefix_runs_on_the_examples_not_on_every_step():
    model = DeepMLP().double().eval()
    rows: list[int] = []
    handle = model[0].register_forward_hook(lambda module, args, out: rows.append(out.shape[0]))
    x = torch.randn(5, 12, dtype=torch.float64)
    attribute(model, x, method="layer_integrated_gradients", layer="7", n_steps=32, internal_batch_size=None)
    # probe + capture(x) + capture(baseline) + f(baseline path end) + one chunk of 32 x 5 steps: 5 rows each.
    assert rows and max(rows) == 5
    rows.clear()
    _captum(model, model[7], x, 0, 32)
    assert max(rows) == 5 * 32
    handle.remove()


def test_layer_baseline_can_be_given_in_the_layers_shape():
    torch.manual_seed(3)
    model = nn.Sequential(
        nn.Linear(6, 10), nn.Tanh(), nn.Linear(10, 10), nn.Tanh(), nn.Linear(10, 3)
    ).double()
    x = torch.randn(3, 6, dtype=torch.float64)
    at_layer = torch.full(
        (10,), 0.25, dtype=torch.float64
    )  # fits the layer's [B, 10], not the inputs' [B, 6]
    ours = attribute(
        model, x, method="layer_integrated_gradients", layer="1", baseline=at_layer, target=0, n_steps=8
    )
    # Reference: plain IG of the suffix from the given activations to the layer's activations on x.
    suffix, prefix = model[2:], model[:2]
    expected = IntegratedGradients(suffix).attribute(
        prefix(x).detach(), baselines=at_layer.expand(3, 10), target=0, n_steps=8
    )
    torch.testing.assert_close(ours.values, expected)
    assert ours.baseline == "tensor" and ours.relative_delta.max() < 1e-6


@pytest.mark.parametrize("rule", ["riemann_trapezoid", "gausslegendre"])
def test_layer_ig_auto_steps_and_rules(rule):
    model = DeepMLP().double().eval()
    x = torch.randn(3, 12, dtype=torch.float64)
    auto = attribute(model, x, method="layer_integrated_gradients", layer="5", n_steps="auto", tol=1e-6,
                     integration=rule)  # fmt: skip
    assert auto.relative_delta.max() <= 1e-6
    fixed = attribute(model, x, method="layer_integrated_gradients", layer="5", n_steps=auto.n_steps,
                      integration=rule)  # fmt: skip
    if auto.info["steps"].min() == auto.n_steps:
        torch.testing.assert_close(auto.values, fixed.values)


def test_layer_called_twice_is_rejected_and_cleaned_up():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            return self.lin(torch.tanh(self.lin(x)))

    model = Twice()
    with pytest.raises(ValueError, match="more than once"):
        attribute(model, torch.randn(2, 4), method="layer_integrated_gradients", layer="lin", target=0)
    assert all_hook_dicts_empty(model)


def test_layer_not_called_is_rejected():
    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = nn.Linear(4, 2), nn.Linear(4, 4)

        def forward(self, x):
            return self.used(x)

    with pytest.raises(ValueError, match="not called"):
        attribute(Unused(), torch.randn(2, 4), method="layer_integrated_gradients", layer="unused", target=0)
