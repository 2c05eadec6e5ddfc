"""Captum's layer methods through ``attribute``: equal to Captum on the same call, hand-computed on a linear
model, tuple-valued layers, token ids, ``attribute_to_layer_input`` and ``grad_kwargs``.

Tolerances: Captum's defaults of ``assert_close`` (float32 rtol 1.3e-6) unless stated; these methods run
Captum's own classes, so only our plumbing (targets, baselines, chunking) can make them differ.
"""

import numpy as np
import pytest
import torch
from attr_test_models import images, small_cnn
from captum import attr as C
from torch import nn

import attr_widgets.attribution as A
from attr_widgets.attribution import attribute


@pytest.fixture(autouse=True)
def _fresh_cache():
    A.clear_cache()
    yield
    A.clear_cache()


@pytest.fixture
def setup():
    return small_cnn(), images(), torch.tensor([0, 3, 1])


def _one(values):
    return values[0] if isinstance(values, tuple) and len(values) == 1 else values


def _captum(method, model, layer, x, target, baseline, **flag):
    """Captum's call for each of our layer methods (the options our call below uses)."""
    if method == "layer_conductance":
        return C.LayerConductance(model, layer).attribute(
            x, baselines=baseline, target=target, n_steps=10, method="riemann_trapezoid", **flag
        )
    if method == "layer_activation":
        return C.LayerActivation(model, layer).attribute(x, **flag)
    if method == "layer_gradient_x_activation":
        return C.LayerGradientXActivation(model, layer).attribute(x, target=target, **flag)
    if method == "internal_influence":
        return C.InternalInfluence(model, layer).attribute(
            x, baselines=baseline, target=target, n_steps=12, **flag
        )
    if method == "layer_deeplift":
        return C.LayerDeepLift(model, layer).attribute(x, baselines=baseline, target=target, **flag)
    if method == "layer_integrated_gradients":
        return C.LayerIntegratedGradients(model, layer).attribute(
            x, baselines=baseline, target=target, n_steps=12, **flag
        )
    if method == "grad_cam":
        return C.LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True, **flag)
    raise KeyError(method)


OPTIONS = {
    "layer_conductance": {"n_steps": 10, "integration": "riemann_trapezoid"},
    "internal_influence": {"n_steps": 12},
    "layer_integrated_gradients": {"n_steps": 12},
    "grad_cam": {"interpolate": False},
}
METHODS = [
    "layer_conductance",
    "layer_activation",
    "layer_gradient_x_activation",
    "internal_influence",
    "layer_deeplift",
    "layer_integrated_gradients",
    "grad_cam",
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("to_input", [False, True])
def test_layer_methods_equal_captum(setup, method, to_input):
    model, x, target = setup
    baseline = torch.full_like(x, 0.2)
    ours = attribute(model, x, method=method, layer="2", target=target, baseline=baseline,
                     attribute_to_layer_input=to_input, **OPTIONS.get(method, {}))  # fmt: skip
    theirs = _captum(method, model, model[2], x, target, baseline, attribute_to_layer_input=to_input)
    torch.testing.assert_close(ours.values, _one(theirs), rtol=1e-5, atol=1e-7)


def test_layer_gradient_shap_equals_captum_with_the_same_seed(setup):
    model, x, target = setup
    dist = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    ours = attribute(model, x, method="layer_gradient_shap", layer="2", target=target, baseline=dist,
                     n_samples=6, stdevs=0.1, seed=9)  # fmt: skip
    torch.manual_seed(9)
    np.random.seed(9)
    theirs = C.LayerGradientShap(model, model[2]).attribute(
        x, baselines=dist, target=target, n_samples=6, stdevs=0.1
    )
    torch.testing.assert_close(ours.values, theirs)
    local = attribute(model, x, method="layer_gradient_shap", layer="2", target=target, baseline=dist,
                      n_samples=6, stdevs=0.1, seed=9, multiply_by_inputs=False)  # fmt: skip
    torch.manual_seed(9)
    np.random.seed(9)
    theirs = C.LayerGradientShap(model, model[2], multiply_by_inputs=False).attribute(
        x, baselines=dist, target=target, n_samples=6, stdevs=0.1
    )
    torch.testing.assert_close(local.values, theirs)
    assert local.delta is None


def test_conductance_is_chunking_invariant_and_has_a_delta(setup):
    model, x, target = setup
    whole = attribute(model, x, method="layer_conductance", layer="2", target=target, n_steps=16,
                      internal_batch_size=None)  # fmt: skip
    chunked = attribute(model, x, method="layer_conductance", layer="2", target=target, n_steps=16,
                        internal_batch_size=7, cache=False)  # fmt: skip
    torch.testing.assert_close(chunked.values, whole.values, rtol=1e-5, atol=1e-8)
    theirs, delta = C.LayerConductance(model, model[2]).attribute(
        x, target=target, n_steps=16, return_convergence_delta=True
    )
    torch.testing.assert_close(whole.delta, delta, rtol=1e-4, atol=1e-6)


class TwoLayerLinear(nn.Module):
    """f(x) = V (W x + c) + d: every layer method has a closed form."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.hidden = nn.Linear(4, 3)
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.hidden(x))


@pytest.fixture
def linear():
    model = TwoLayerLinear().double()
    x = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return model, x


def test_hand_computed_layer_methods_on_a_linear_model(linear):
    model, x = linear
    h = model.hidden(x).detach()
    h0 = model.hidden(torch.zeros_like(x)).detach()
    v = model.head.weight[1].detach()  # ∂f_1/∂h
    common = {"layer": "hidden", "target": 1, "n_steps": 4}

    def run(method, **options):
        return attribute(model, x, method=method, **common, **options).values

    torch.testing.assert_close(run("layer_activation"), h)
    torch.testing.assert_close(run("layer_gradient_x_activation"), h * v)
    torch.testing.assert_close(run("layer_gradient_x_activation", multiply_by_inputs=False), v.expand_as(h))
    torch.testing.assert_close(run("internal_influence"), v.expand_as(h))
    # Conductance and DeepLIFT of a linear suffix: v · (h(x) − h(0)), summing to f(x) − f(0) exactly.
    # (Conductance sums finite differences between its points: exact with a rule that has both endpoints.)
    for method in ("layer_conductance", "layer_deeplift", "layer_integrated_gradients"):
        result = attribute(model, x, method=method, **common, integration="riemann_trapezoid")
        torch.testing.assert_close(result.values, v * (h - h0))
        assert result.relative_delta.max() < 1e-9
    # At the layer's input (the model's input here): IG of the whole linear model, W^T v (x − 0).
    at_input = run("layer_conductance", attribute_to_layer_input=True, integration="riemann_trapezoid")
    torch.testing.assert_close(at_input, x * (model.hidden.weight.T @ v).detach())


class PairLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x):
        h = self.linear(x)
        return h, torch.tanh(h)


class PairModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.pair = PairLayer()
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        a, b = self.pair(x)
        return self.head(a * b + b)


@pytest.mark.parametrize(
    "method", ["layer_conductance", "layer_activation", "layer_gradient_x_activation", "internal_influence"]
)
def test_tuple_valued_layers_give_a_tuple_like_captum(method):
    model = PairModel().double()
    x = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ours = attribute(model, x, method=method, layer="pair", target=2, **OPTIONS.get(method, {}))
    theirs = _captum(method, model, model.pair, x, 2, torch.zeros_like(x))
    assert isinstance(ours.values, tuple) and len(ours.values) == 2
    for mine, reference in zip(ours.values, theirs, strict=True):
        torch.testing.assert_close(mine, reference)
    if method == "layer_conductance":
        assert ours.delta.shape == (3,)  # Σ over both tensors − (f(x) − f(0))


def test_token_ids_through_layer_activation_and_gradient_x_activation():
    torch.manual_seed(6)
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 3)).double()
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    for method, captum_class in (("layer_activation", C.LayerActivation),
                                 ("layer_gradient_x_activation", C.LayerGradientXActivation)):  # fmt: skip
        ours = attribute(model, ids, method=method, layer="0", target=1)
        theirs = (
            captum_class(model, model[0]).attribute(ids)
            if method == "layer_activation"
            else captum_class(model, model[0]).attribute(ids, target=1)
        )
        torch.testing.assert_close(ours.values, theirs)


def test_grad_kwargs_reach_autograd(setup):
    model, x, target = setup
    plain = attribute(model, x, method="layer_integrated_gradients", layer="2", target=target, n_steps=6)
    retained = attribute(model, x, method="layer_integrated_gradients", layer="2", target=target, n_steps=6,
                         grad_kwargs={"retain_graph": True})  # fmt: skip
    torch.testing.assert_close(plain.values, retained.values)
    with pytest.raises(TypeError, match="bogus"):
        attribute(model, x, method="internal_influence", layer="2", target=target, n_steps=6,
                  grad_kwargs={"bogus": 1})  # fmt: skip


def test_captum_integrated_methods_reject_auto_steps(setup):
    model, x, target = setup
    with pytest.raises(ValueError, match="n_steps='auto' is available for"):
        attribute(model, x, method="layer_conductance", layer="2", target=target, n_steps="auto")
