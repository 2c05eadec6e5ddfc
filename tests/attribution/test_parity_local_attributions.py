"""``multiply_by_inputs=False``: local attributions (Ancona et al., Towards better understanding of
gradient-based attribution methods for Deep Neural Networks, 2018) — equal to Captum's, without delta."""

import numpy as np
import pytest
import torch
from attr_test_models import images, small_cnn, tanh_mlp
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


@pytest.mark.parametrize("n_steps", [12, "auto"])
def test_local_integrated_gradients_equals_captum(setup, n_steps):
    model, x, target = setup
    baseline = torch.full((3, 8, 8), 0.2)
    ours = attribute(model, x, method="integrated_gradients", target=target, baseline=baseline,
                     n_steps=n_steps, multiply_by_inputs=False, max_steps=64)  # fmt: skip
    steps = ours.n_steps if n_steps == "auto" else n_steps
    theirs = C.IntegratedGradients(model, multiply_by_inputs=False).attribute(
        x, baselines=baseline.expand_as(x), target=target, n_steps=steps, method="gausslegendre"
    )
    if n_steps == 12 or bool((ours.info["steps"] == steps).all()):
        torch.testing.assert_close(ours.values, theirs, rtol=1e-5, atol=1e-7)
    assert ours.delta is None and ours.baseline_outputs is not None
    global_ = attribute(model, x, method="integrated_gradients", target=target, baseline=baseline, n_steps=12)
    if n_steps == 12:
        # Global = local x (x − b), by definition.
        torch.testing.assert_close(global_.values, ours.values * (x - baseline), rtol=1e-5, atol=1e-8)


class SumOfSquares(nn.Module):
    def forward(self, x):
        return (x * x).sum(1, keepdim=True)


def test_local_ig_of_a_quadratic_is_hand_computable():
    # f(x) = Σ x²: the average gradient on the straight path from 0 is x (2αx averaged over α ∈ [0, 1]).
    x = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    result = attribute(SumOfSquares(), x, method="integrated_gradients", target=0, n_steps=4,
                       multiply_by_inputs=False)  # fmt: skip
    torch.testing.assert_close(result.values, x)


def test_local_input_x_gradient_is_the_gradient(setup):
    model, x, target = setup
    ours = attribute(model, x, method="input_x_gradient", target=target, multiply_by_inputs=False)
    theirs = C.Saliency(model).attribute(x.clone().requires_grad_(True), target=target, abs=False)
    torch.testing.assert_close(ours.values, theirs)


@pytest.mark.parametrize(
    ("method", "captum_class"), [("deeplift", C.DeepLift), ("deeplift_shap", C.DeepLiftShap)]
)
def test_local_deeplift_equals_captum(setup, method, captum_class):
    model, x, target = setup
    baseline = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    if method == "deeplift":
        baseline = baseline[0]
    ours = attribute(model, x, method=method, target=target, baseline=baseline, multiply_by_inputs=False)
    given = baseline.expand_as(x) if method == "deeplift" else baseline
    theirs = captum_class(model, multiply_by_inputs=False).attribute(
        x.clone().requires_grad_(True), baselines=given, target=target
    )
    torch.testing.assert_close(ours.values, theirs)
    assert ours.delta is None


def test_local_gradient_shap_equals_captum(setup):
    model, x, target = setup
    dist = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    ours = attribute(model, x, method="gradient_shap", target=target, baseline=dist, n_samples=5, seed=5,
                     multiply_by_inputs=False)  # fmt: skip
    torch.manual_seed(5)
    np.random.seed(5)
    theirs = C.GradientShap(model, multiply_by_inputs=False).attribute(
        x.clone().requires_grad_(True), baselines=dist, n_samples=5, target=target
    )
    torch.testing.assert_close(ours.values, theirs)
    assert ours.delta is None


def test_local_layer_integrated_gradients_equals_captum():
    model = tanh_mlp(depth=3)
    x = torch.randn(4, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ours = attribute(model, x, method="layer_integrated_gradients", layer="2", target=1, n_steps=10,
                     multiply_by_inputs=False)  # fmt: skip
    theirs = C.LayerIntegratedGradients(model, model[2], multiply_by_inputs=False).attribute(
        x, target=1, n_steps=10, method="gausslegendre"
    )
    torch.testing.assert_close(ours.values, theirs, rtol=1e-7, atol=1e-10)
    assert ours.delta is None
