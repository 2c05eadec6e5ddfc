"""Values equal Captum's for every method Captum has, with the same settings."""

import numpy as np
import pytest
import torch
from attr_test_models import images, small_cnn
from captum import attr as C

from attr_widgets.attribution import attribute


@pytest.fixture
def setup():
    model, x = small_cnn(), images()
    target = torch.tensor([0, 3, 1])
    return model, x, target


def _captum_input(x):
    return x.clone().requires_grad_(True)


@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle"])
def test_integrated_gradients_equals_captum(setup, rule):
    model, x, target = setup
    baseline = torch.rand(3, 8, 8)
    ours = attribute(model, x, method="integrated_gradients", target=target, baseline=baseline, n_steps=20,
                     integration=rule)  # fmt: skip
    theirs, delta = C.IntegratedGradients(model).attribute(
        _captum_input(x), baselines=baseline.expand_as(x), target=target, n_steps=20, method=rule,
        return_convergence_delta=True,
    )  # fmt: skip
    torch.testing.assert_close(ours.values, theirs, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(ours.delta, delta, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("use_abs", [False, True])
def test_saliency_equals_captum(setup, use_abs):
    model, x, target = setup
    ours = attribute(model, x, method="saliency", target=target, abs=use_abs)
    theirs = C.Saliency(model).attribute(_captum_input(x), target=target, abs=use_abs)
    torch.testing.assert_close(ours.values, theirs)


def test_input_x_gradient_equals_captum(setup):
    model, x, target = setup
    ours = attribute(model, x, method="input_x_gradient", target=target)
    theirs = C.InputXGradient(model).attribute(_captum_input(x), target=target)
    torch.testing.assert_close(ours.values, theirs)


@pytest.mark.parametrize("kind", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_noise_tunnel_equals_captum_with_same_seed(setup, kind):
    model, x, target = setup
    ours = attribute(model, x, method=kind, target=target, nt_samples=6, stdevs=0.2, seed=7)
    torch.manual_seed(7)
    theirs = C.NoiseTunnel(C.Saliency(model)).attribute(
        _captum_input(x), nt_type=kind, nt_samples=6, stdevs=0.2, target=target, abs=False
    )
    torch.testing.assert_close(ours.values, theirs)


def test_smoothgrad_does_not_disturb_global_rng(setup):
    model, x, _ = setup
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    attribute(model, x, method="smoothgrad", nt_samples=3)
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.parametrize("name", ["GuidedBackprop", "Deconvolution"])
def test_modified_backprop_equals_captum(setup, name):
    model, x, target = setup
    method = {"GuidedBackprop": "guided_backprop", "Deconvolution": "deconvolution"}[name]
    ours = attribute(model, x, method=method, target=target)
    theirs = getattr(C, name)(model).attribute(_captum_input(x), target=target)
    torch.testing.assert_close(ours.values, theirs)


def test_deeplift_equals_captum(setup):
    model, x, target = setup
    baseline = torch.full_like(x, 0.3)
    ours = attribute(model, x, method="deeplift", target=target, baseline=baseline)
    theirs = C.DeepLift(model).attribute(_captum_input(x), baselines=baseline, target=target)
    torch.testing.assert_close(ours.values, theirs)
    assert ours.relative_delta.max() < 1e-4  # summation-to-delta


def test_deeplift_shap_equals_captum(setup):
    model, x, target = setup
    dist = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    ours = attribute(model, x, method="deeplift_shap", target=target, baseline=dist)
    theirs = C.DeepLiftShap(model).attribute(_captum_input(x), baselines=dist, target=target)
    torch.testing.assert_close(ours.values, theirs)


def test_gradient_shap_equals_captum_with_same_seed(setup):
    model, x, target = setup
    dist = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    ours = attribute(
        model, x, method="gradient_shap", target=target, baseline=dist, n_samples=7, stdevs=0.1, seed=5
    )
    torch.manual_seed(5)
    np.random.seed(5)
    theirs = C.GradientShap(model).attribute(
        _captum_input(x), baselines=dist, n_samples=7, stdevs=0.1, target=target
    )
    torch.testing.assert_close(ours.values, theirs)


def test_occlusion_equals_captum(setup):
    model, x, target = setup
    ours = attribute(
        model, x, method="occlusion", target=target, sliding_window_shapes=(3, 2, 2), strides=(3, 2, 2)
    )
    theirs = C.Occlusion(model).attribute(
        x, sliding_window_shapes=(3, 2, 2), strides=(3, 2, 2), target=target
    )
    torch.testing.assert_close(ours.values, theirs)


def test_feature_ablation_equals_captum(setup):
    model, x, target = setup
    mask = torch.arange(64).reshape(1, 1, 8, 8) // 8
    ours = attribute(model, x, method="feature_ablation", target=target, feature_mask=mask, baseline="zeros")
    theirs = C.FeatureAblation(model).attribute(x, target=target, feature_mask=mask)
    torch.testing.assert_close(ours.values, theirs)


def test_grad_cam_equals_captum(setup):
    model, x, target = setup
    ours = attribute(model, x, method="grad_cam", layer=model[2], target=target, interpolate=False)
    theirs = C.LayerGradCam(model, model[2]).attribute(x, target=target, relu_attributions=True)
    torch.testing.assert_close(ours.values, theirs)
    up = attribute(model, x, method="grad_cam", layer=model[2], target=target)
    assert up.values.shape == (3, 1, 8, 8)


@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_right"])
def test_layer_integrated_gradients_equals_captum(setup, rule):
    model, x, target = setup
    ours = attribute(model, x, method="layer_integrated_gradients", layer=model[2], target=target, n_steps=12,
                     integration=rule)  # fmt: skip
    theirs = C.LayerIntegratedGradients(model, model[2]).attribute(x, target=target, n_steps=12, method=rule)
    torch.testing.assert_close(ours.values, theirs, rtol=1e-5, atol=1e-7)
