"""Neuron methods (``neuron=``) equal Captum's on the same call, with hand-computed linear cases; and every
method added for Captum parity is quiet, leaks no hook and leaves the model as it was."""

import re
import warnings

import numpy as np
import pytest
import torch
from attr_test_models import all_hook_dicts_empty, images, same_state, small_cnn, state_snapshot
from captum import attr as C
from torch import nn

import attr_widgets.attribution as A
from attr_widgets.attribution import attribute

NEURON = (1, 2, 3)  # a unit of small_cnn's Conv2d output [B, 6, 8, 8] at layer 2


@pytest.fixture(autouse=True)
def _fresh_cache():
    A.clear_cache()
    yield
    A.clear_cache()


@pytest.fixture
def setup():
    return small_cnn(), images(), torch.tensor([0, 3, 1])


def _captum(method, model, layer, x, neuron, target, baseline, **flag):
    if method == "neuron_gradient":
        return C.NeuronGradient(model, layer).attribute(x, neuron, **flag)
    if method == "neuron_integrated_gradients":
        return C.NeuronIntegratedGradients(model, layer).attribute(
            x, neuron, baselines=baseline, n_steps=10, **flag
        )
    if method == "neuron_conductance":
        return C.NeuronConductance(model, layer).attribute(
            x, neuron, baselines=baseline, target=target, n_steps=10, method="gausslegendre", **flag
        )
    if method == "neuron_guided_backprop":
        return C.NeuronGuidedBackprop(model, layer).attribute(x, neuron, **flag)
    if method == "neuron_deconvolution":
        return C.NeuronDeconvolution(model, layer).attribute(x, neuron, **flag)
    if method == "neuron_deeplift":
        return C.NeuronDeepLift(model, layer).attribute(x, neuron, baselines=baseline, **flag)
    raise KeyError(method)


METHODS = [
    "neuron_gradient",
    "neuron_integrated_gradients",
    "neuron_conductance",
    "neuron_guided_backprop",
    "neuron_deconvolution",
    "neuron_deeplift",
]


def _last_unit(out):
    """A callable selector: the summed activation of channel 4 (one value per example)."""
    return out[:, 4].sum(dim=(1, 2))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("neuron", [NEURON, _last_unit])
def test_neuron_methods_equal_captum(setup, method, neuron):
    model, x, target = setup
    baseline = torch.full_like(x, 0.1)
    ours = attribute(model, x, method=method, layer="2", neuron=neuron, target=target, baseline=baseline,
                     n_steps=10)  # fmt: skip
    theirs = _captum(method, model, model[2], x, neuron, target, baseline)
    assert ours.values.shape == x.shape
    torch.testing.assert_close(ours.values, theirs, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("method", ["neuron_gradient", "neuron_integrated_gradients", "neuron_deeplift"])
def test_neuron_in_the_layers_input(setup, method):
    model, x, target = setup
    baseline = torch.zeros_like(x)
    ours = attribute(model, x, method=method, layer="2", neuron=(0, 4, 4), target=target, n_steps=10,
                     attribute_to_neuron_input=True)  # fmt: skip
    theirs = _captum(method, model, model[2], x, (0, 4, 4), target, baseline, attribute_to_neuron_input=True)
    torch.testing.assert_close(ours.values, theirs, rtol=1e-5, atol=1e-7)


def test_neuron_gradient_shap_equals_captum_with_the_same_seed(setup):
    model, x, _ = setup
    dist = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    ours = attribute(model, x, method="neuron_gradient_shap", layer="2", neuron=NEURON, baseline=dist,
                     n_samples=5, seed=2)  # fmt: skip
    torch.manual_seed(2)
    np.random.seed(2)
    theirs = C.NeuronGradientShap(model, model[2]).attribute(x, NEURON, baselines=dist, n_samples=5)
    torch.testing.assert_close(ours.values, theirs)


class Linear2(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(8)
        self.hidden = nn.Linear(4, 3)
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.hidden(x))


def test_hand_computed_neuron_methods_on_a_linear_layer():
    model = Linear2().double()
    x = torch.randn(4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    w = model.hidden.weight[2].detach()  # neuron 2 of the hidden layer: h_2 = w · x + c

    def run(method, **options):
        return attribute(model, x, method=method, layer="hidden", neuron=2, target=0, n_steps=4,
                         **options).values  # fmt: skip

    torch.testing.assert_close(run("neuron_gradient"), w.expand_as(x))
    torch.testing.assert_close(run("neuron_integrated_gradients"), w * x)  # exact: constant gradient
    torch.testing.assert_close(run("neuron_integrated_gradients", multiply_by_inputs=False), w.expand_as(x))
    torch.testing.assert_close(run("neuron_deeplift"), w * x)
    # Conductance through neuron 2 to the target 0: the path gradient of f through h_2, times (x − 0).
    v = model.head.weight[0, 2].detach()
    torch.testing.assert_close(run("neuron_conductance"), v * w * x)


def test_neuron_selector_errors_name_the_argument(setup):
    model, x, _ = setup
    with pytest.raises(ValueError, match="needs neuron="):
        attribute(model, x, method="neuron_gradient", layer="2")
    with pytest.raises(TypeError, match="neuron must be"):
        attribute(model, x, method="neuron_gradient", layer="2", neuron="first")
    with pytest.raises(ValueError, match=r"neuron=\(9, 0, 0\) is not an index"):
        attribute(model, x, method="neuron_gradient", layer="2", neuron=(9, 0, 0))


PARITY_METHODS = [
    "layer_conductance",
    "layer_activation",
    "layer_gradient_x_activation",
    "internal_influence",
    "layer_deeplift",
    "layer_gradient_shap",
    *METHODS,
    "neuron_gradient_shap",
]


def _call_options(method):
    info = {str(m): m for m in A.methods()}[method]
    options = {"layer": "2", "cache": False}
    if "neuron" in info.options:
        options["neuron"] = NEURON
    if info.uses_steps:
        options["n_steps"] = 6
    if "n_samples" in info.options:
        options["n_samples"] = 3
    return options


def test_every_parity_method_is_listed_with_its_captum_class_and_axioms():
    listed = {str(m): m for m in A.methods()}
    for method in PARITY_METHODS:
        info = listed[method]
        assert info.needs_layer and info.captum and hasattr(C, info.captum)
        assert info.axioms["source"]
        # Papers cited by authors, title and year ("(Author et al., Title, 2018)"), except the activations.
        assert re.search(r", (19|20)\d\d\)", info.description) or "(no target" in info.description


@pytest.mark.parametrize("method", PARITY_METHODS)
def test_parity_methods_are_quiet_leak_no_hooks_and_leave_the_model_alone(method):
    model = small_cnn()
    model[0].train(True)  # a mixed mode the call must not normalise
    model[2].weight.requires_grad_(False)
    before = state_snapshot(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attribute(model, images(), method=method, **_call_options(method))
        attribute(model, images(), method=method, smooth=None, **_call_options(method))
    assert all_hook_dicts_empty(model)
    assert same_state(before, state_snapshot(model))


@pytest.mark.parametrize("method", ["layer_conductance", "neuron_integrated_gradients", "layer_deeplift"])
def test_smooth_applies_to_layer_and_neuron_methods(setup, method):
    model, x, target = setup
    options = {k: v for k, v in _call_options(method).items() if k != "cache"}
    ours = attribute(model, x, method=method, target=target, smooth="smoothgrad", nt_samples=3, stdevs=0.1,
                     seed=5, **options)  # fmt: skip
    from attr_widgets.attribution._noise_tunnel import draw_noisy_inputs

    noisy = draw_noisy_inputs(x, 3, 0.1, seed=5)
    copies = attribute(model, noisy, method=method, target=target.repeat_interleave(3), **options).values
    torch.testing.assert_close(ours.values, copies.reshape(3, 3, *copies.shape[1:]).mean(1))
