"""Multi-input models, ``forward(x, y)``: attributions come back as a tuple shaped like the inputs, equal to
Captum's on the same tuple call; completeness holds over all inputs together.

Tolerances: float64 throughout; IG differs from Captum only by float64 rounding of its quadrature nodes
(rtol 1e-7), everything else is Captum's own computation.
"""

import numpy as np
import pytest
import torch
from attr_test_models import all_hook_dicts_empty, same_state, state_snapshot
from captum import attr as C
from torch import nn

import attr_widgets.attribution as A
from attr_widgets.attribution import attribute


@pytest.fixture(autouse=True)
def _fresh_cache():
    A.clear_cache()
    yield
    A.clear_cache()


class TwoInputs(nn.Module):
    """A feature vector [B, 4] and a two-channel signal [B, 2, 5] meet in the head."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.dense = nn.Linear(4, 3)
        self.conv = nn.Conv1d(2, 3, 3)
        self.act = nn.ReLU()
        self.head = nn.Linear(3, 2)

    def forward(self, x, y):
        h = self.dense(x)
        return self.head(torch.tanh(h) * self.act(self.conv(y)).mean(-1) + h)


@pytest.fixture
def setup():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(3, 4, dtype=torch.float64, generator=generator)
    y = torch.randn(3, 2, 5, dtype=torch.float64, generator=generator)
    return TwoInputs().double().eval(), (x, y), torch.tensor([1, 0, 1])


def _close(ours, theirs, **tolerance):
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.shape == reference.shape
        torch.testing.assert_close(mine, reference, **tolerance)


def test_integrated_gradients_with_per_input_baselines_equals_captum(setup):
    model, (x, y), target = setup
    bx, by = torch.full((4,), 0.1, dtype=torch.float64), torch.zeros(2, 5, dtype=torch.float64)
    ours = attribute(
        model, (x, y), method="integrated_gradients", target=target, baseline=(bx, by), n_steps=20
    )
    theirs = C.IntegratedGradients(model).attribute(
        (x, y), baselines=(bx.expand_as(x), by.expand_as(y)), target=target, n_steps=20
    )
    _close(ours.values, theirs, rtol=1e-7, atol=1e-10)
    # Completeness over both inputs: Σ_x + Σ_y = f(x, y) − f(bx, by).
    assert ours.relative_delta.max() < 0.05  # (20 steps across a ReLU kink)
    total = ours.values[0].sum(1) + ours.values[1].flatten(1).sum(1)
    torch.testing.assert_close(ours.delta, total - (ours.outputs - ours.baseline_outputs))
    assert ours.to_dict()["shape"] == [[3, 4], [3, 2, 5]]


@pytest.mark.parametrize(
    ("method", "captum_class"),
    [("saliency", C.Saliency), ("input_x_gradient", C.InputXGradient), ("deeplift", C.DeepLift),
     ("guided_backprop", C.GuidedBackprop)],
)  # fmt: skip
def test_gradient_methods_equal_captum(setup, method, captum_class):
    model, inputs, target = setup
    options = {"abs": False} if method == "saliency" else {}
    ours = attribute(model, inputs, method=method, target=target, **options)
    _close(ours.values, captum_class(model).attribute(inputs, target=target, **options))


@pytest.mark.parametrize("rows", [1, 4])
def test_gradient_shap_with_per_input_distributions_equals_captum(setup, rows):
    model, inputs, target = setup
    generator = torch.Generator().manual_seed(3)
    dist = (torch.randn(rows, 4, dtype=torch.float64, generator=generator),
            torch.randn(rows, 2, 5, dtype=torch.float64, generator=generator))  # fmt: skip
    ours = attribute(model, inputs, method="gradient_shap", target=target, baseline=dist, n_samples=6,
                     stdevs=0.05, seed=2)  # fmt: skip
    torch.manual_seed(2)
    np.random.seed(2)
    # Captum draws each input's baseline row independently; so do we (its call on the tuple).
    theirs = C.GradientShap(model).attribute(inputs, baselines=dist, target=target, n_samples=6, stdevs=0.05)
    _close(ours.values, theirs)


def test_feature_ablation_with_per_input_masks_equals_captum(setup):
    model, inputs, target = setup
    masks = (torch.tensor([[0, 0, 1, 2]]), torch.full((1, 2, 5), 3))
    ours = attribute(model, inputs, method="feature_ablation", target=target, feature_mask=masks)
    _close(ours.values, C.FeatureAblation(model).attribute(inputs, target=target, feature_mask=masks))
    default = attribute(model, inputs, method="feature_ablation", target=target)
    _close(default.values, C.FeatureAblation(model).attribute(inputs, target=target))


def test_layer_and_neuron_methods_on_a_multi_input_model(setup):
    model, inputs, target = setup
    ours = attribute(model, inputs, method="layer_conductance", layer="dense", target=target, n_steps=10)
    theirs = C.LayerConductance(model, model.dense).attribute(inputs, target=target, n_steps=10)
    torch.testing.assert_close(ours.values, theirs)
    assert ours.layer == "dense"  # the user's name, not the packing view's
    neuron = attribute(model, inputs, method="neuron_gradient", layer=model.conv, neuron=(1, 0))
    # The conv unit depends on y only: zero for x (Captum's own tuple call raises on the unused input here),
    # and Captum's neuron gradient of the model as a function of y.
    x, y = inputs
    torch.testing.assert_close(neuron.values[0], torch.zeros_like(x))
    theirs = C.NeuronGradient(lambda signal: model(x, signal), model.conv).attribute(y, (1, 0))
    torch.testing.assert_close(neuron.values[1], theirs)


def test_layer_ig_on_a_multi_input_model_equals_captum(setup):
    model, inputs, target = setup
    ours = attribute(
        model, inputs, method="layer_integrated_gradients", layer="conv", target=target, n_steps=12
    )
    theirs = C.LayerIntegratedGradients(model, model.conv).attribute(inputs, target=target, n_steps=12)
    torch.testing.assert_close(ours.values, theirs, rtol=1e-7, atol=1e-10)


def test_smoothgrad_over_a_tuple_draws_noise_per_input_like_captum(setup):
    model, inputs, target = setup
    ours = attribute(model, inputs, method="input_x_gradient", target=target, smooth="vargrad", nt_samples=4,
                     stdevs=0.2, seed=6)  # fmt: skip
    torch.manual_seed(6)
    theirs = C.NoiseTunnel(C.InputXGradient(model)).attribute(
        inputs, nt_type="vargrad", nt_samples=4, stdevs=0.2, target=target
    )
    _close(ours.values, theirs)


def test_named_baselines_are_made_per_input_and_the_model_is_left_alone(setup):
    model, (x, y), target = setup
    model.conv.train(True)
    before = state_snapshot(model)
    auto_uniform = {"baseline": "uniform", "n_steps": "auto", "tol": 1e-3}
    uniform = attribute(model, (x, y), method="integrated_gradients", target=target, **auto_uniform)
    assert uniform.baseline == "uniform" and uniform.relative_delta.max() <= 1e-3
    assert all_hook_dicts_empty(model) and same_state(before, state_snapshot(model))
    again = attribute(model, (x, y), method="integrated_gradients", target=target, **auto_uniform)
    _close(again.values, uniform.values)


def test_multi_input_errors_name_the_argument(setup):
    model, (x, y), target = setup
    with pytest.raises(ValueError, match=r"inputs\[1\] has shape"):
        attribute(model, (x, y[:2]), method="saliency", target=0)
    with pytest.raises(TypeError, match=r"inputs\[1\] has dtype"):
        attribute(model, (x, y.long()), method="saliency", target=0)
    with pytest.raises(ValueError, match="baseline: a tuple of 1 baselines for 2 inputs"):
        attribute(model, (x, y), method="integrated_gradients", target=0, baseline=(torch.zeros(4),))
    with pytest.raises(ValueError, match=r"baseline\[1\] has shape"):
        attribute(model, (x, y), method="integrated_gradients", target=0,
                  baseline=(torch.zeros(4), torch.zeros(7)))  # fmt: skip
    with pytest.raises(ValueError, match="occlusion"):
        attribute(model, (x, y), method="occlusion", target=0)
    with pytest.raises(ValueError, match="feature_mask: pass one integer mask per input"):
        attribute(
            model, (x, y), method="feature_ablation", target=0, feature_mask=(torch.zeros(1, 4).long(),)
        )
