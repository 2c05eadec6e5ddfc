"""Calls a Captum user makes that used to crash or differ: 1-D inputs, tuple-output layers, dtypes, occlusion.

Each case is small enough to compute by hand, and is compared with Captum on the same call where Captum has
the method.
"""

import pytest
import torch
from captum import attr as C
from torch import nn

import attr_widgets.attribution as A
from attr_widgets.attribution import attribute


@pytest.fixture(autouse=True)
def _fresh_cache():
    A.clear_cache()
    yield
    A.clear_cache()


def as_scores(out):
    """[B] outputs as [B, 1] scores (a model whose every example is one scalar)."""
    return out.reshape(-1, 1)


class Square(nn.Module):
    """f(x) = x² per example on inputs [B]: IG from 0 is exactly x², the gradient 2x."""

    def forward(self, x):
        return x * x


DELTA_METHODS = ["integrated_gradients", "x_gradient", "deeplift", "deeplift_shap", "gradient_shap"]


@pytest.mark.parametrize("method", DELTA_METHODS)
def test_methods_with_delta_accept_one_dimensional_inputs(method):
    options = {"check_homogeneous": False} if method == "x_gradient" else {}
    result = attribute(
        nn.Identity(), torch.tensor([1.0, 2.0]), method=method, output=as_scores, **options
    )
    # The identity is linear: every method gives x − 0 = x, and completeness holds exactly.
    torch.testing.assert_close(result.values, torch.tensor([1.0, 2.0]))
    assert result.values.shape == (2,) and result.delta.shape == (2,)
    torch.testing.assert_close(result.delta, torch.zeros(2))


@pytest.mark.parametrize("n_steps", [16, "auto"])
def test_integrated_gradients_on_one_dimensional_inputs_is_hand_computable(n_steps):
    x = torch.tensor([1.0, -3.0, 0.5], dtype=torch.float64)
    result = attribute(
        Square(), x, method="integrated_gradients", output=as_scores, n_steps=n_steps, tol=1e-9
    )
    # ∫₀¹ 2αx dα · x = x²; Gauss-Legendre is exact on the linear integrand.
    torch.testing.assert_close(result.values, x * x)
    assert result.relative_delta.max() < 1e-9
    theirs = C.IntegratedGradients(lambda t: Square()(t).reshape(-1, 1)).attribute(
        x, target=0, n_steps=16
    )
    torch.testing.assert_close(result.values, theirs)
