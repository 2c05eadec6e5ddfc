"""method="x_gradient" (seed 001): x·∇F(x) in one pass; equals IG with the zero baseline on an X-DNN."""

import warnings

import pytest
import torch
from attr_test_models import images
from torch import nn

from attr_widgets.attribution import AttributionWarning, attribute
from attr_widgets.xdnn import to_xdnn


def relu_cnn() -> nn.Module:
    torch.manual_seed(4)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 4),
    ).eval()


def test_x_gradient_equals_integrated_gradients_on_an_x_dnn():
    xdnn = to_xdnn(relu_cnn()).model.double()
    x = images(4).double()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xg = attribute(xdnn, x, method="x_gradient", target=1)
    ig = attribute(xdnn, x, method="integrated_gradients", target=1, n_steps=50, baseline="zeros")
    torch.testing.assert_close(xg.values, ig.values, rtol=1e-9, atol=1e-12)
    # Completeness with the zero baseline: F(0) = 0 on an X-DNN, so Σ XG = F(x).
    assert xg.baseline == "zeros" and xg.delta.abs().max() < 1e-10
    assert xg.baseline_outputs.abs().max() < 1e-12


def test_x_gradient_is_input_times_gradient():
    model, x = relu_cnn(), images()
    xg = attribute(model, x, method="x_gradient", check_homogeneous=False)
    ixg = attribute(model, x, method="input_x_gradient")
    torch.testing.assert_close(xg.values, ixg.values)


def test_x_gradient_warns_on_a_non_homogeneous_model():
    with pytest.warns(AttributionWarning, match="only input × gradient"):
        attribute(relu_cnn(), images(), method="x_gradient")


def test_x_gradient_differs_from_ig_when_biases_break_homogeneity():
    model, x = relu_cnn().double(), images().double()
    with pytest.warns(AttributionWarning):
        xg = attribute(model, x, method="x_gradient", target=0)
    ig = attribute(model, x, method="integrated_gradients", target=0, n_steps=64)
    assert (xg.values - ig.values).abs().max() > 1e-3


def test_homogeneity_verdict_is_remembered_until_the_weights_change():
    model = relu_cnn()
    with pytest.warns(AttributionWarning):
        attribute(model, images(), method="x_gradient", cache=False)
    xdnn = to_xdnn(model).model
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attribute(xdnn, images(), method="x_gradient", cache=False)
        attribute(xdnn, images(5), method="x_gradient", cache=False)  # verdict reused
    with torch.no_grad():
        xdnn[-1].weight.add_(1.0)  # still homogeneous: new check, same verdict, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attribute(xdnn, images(), method="x_gradient", cache=False)
    with torch.no_grad():
        xdnn[-1].bias = nn.Parameter(torch.ones(4))  # a bias breaks homogeneity: re-checked, warns
    with pytest.warns(AttributionWarning):
        attribute(xdnn, images(), method="x_gradient", cache=False)
