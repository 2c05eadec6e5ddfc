"""``smooth=``: NoiseTunnel (SmoothGrad, SmoothGrad², VarGrad) over any method, equal to Captum's NoiseTunnel.

Captum draws the noise from torch's global generator; we draw the same numbers from a private generator seeded
with ``seed``, so after ``torch.manual_seed(seed)`` Captum's values are ours, to the last bit on CPU.
"""

import pytest
import torch
from attr_test_models import images, small_cnn, tanh_mlp
from captum import attr as C

import attr_widgets.attribution as A
from attr_widgets.attribution import attribute
from attr_widgets.attribution._noise_tunnel import draw_noisy_inputs

KINDS = ["smoothgrad", "smoothgrad_sq", "vargrad"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    A.clear_cache()
    yield
    A.clear_cache()


@pytest.fixture
def setup():
    return small_cnn(), images(), torch.tensor([0, 3, 1])


def _captum(explainer, x, kind, seed, **kwargs):
    torch.manual_seed(seed)
    return C.NoiseTunnel(explainer).attribute(x, nt_type=kind, nt_samples=4, stdevs=0.2, **kwargs)


@pytest.mark.parametrize("kind", KINDS)
def test_smoothed_integrated_gradients_equals_captum(setup, kind):
    model, x, target = setup
    baseline = torch.full((3, 8, 8), 0.1)
    ours = attribute(model, x, method="integrated_gradients", target=target, baseline=baseline, smooth=kind,
                     nt_samples=4, stdevs=0.2, seed=7, n_steps=10, integration="riemann_right")  # fmt: skip
    theirs = _captum(C.IntegratedGradients(model), x, kind, 7, target=target,
                     baselines=baseline.expand_as(x), n_steps=10, method="riemann_right")  # fmt: skip
    torch.testing.assert_close(ours.values, theirs, rtol=1e-5, atol=1e-8)
    assert ours.delta is None and ours.baseline_outputs is None  # completeness holds per copy, not on average
    assert ours.info["smooth"] == kind and ours.info["nt_samples"] == 4


@pytest.mark.parametrize(
    ("method", "captum_class"),
    [("input_x_gradient", C.InputXGradient), ("deeplift", C.DeepLift), ("guided_backprop", C.GuidedBackprop)],
)
@pytest.mark.parametrize("kind", KINDS)
def test_smoothed_gradient_methods_equal_captum(setup, method, captum_class, kind):
    model, x, target = setup
    ours = attribute(model, x, method=method, target=target, smooth=kind, nt_samples=4, stdevs=0.2, seed=3)
    theirs = _captum(captum_class(model), x, kind, 3, target=target)
    torch.testing.assert_close(ours.values, theirs)


def test_smoothed_layer_integrated_gradients_equals_captum(setup):
    model, x, target = setup
    ours = attribute(model, x, method="layer_integrated_gradients", layer="2", target=target,
                     smooth="smoothgrad", nt_samples=4, stdevs=0.2, seed=1, n_steps=8)  # fmt: skip
    theirs = _captum(C.LayerIntegratedGradients(model, model[2]), x, "smoothgrad", 1, target=target,
                     n_steps=8, method="gausslegendre")  # fmt: skip
    torch.testing.assert_close(ours.values, theirs, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("kind", KINDS)
def test_smoothed_saliency_is_the_smoothgrad_method(setup, kind):
    model, x, target = setup
    smoothed = attribute(model, x, method="saliency", target=target, smooth=kind, nt_samples=5, stdevs=0.1)
    built_in = attribute(model, x, method=kind, target=target, nt_samples=5, stdevs=0.1)
    torch.testing.assert_close(smoothed.values, built_in.values)


def test_smoothgrad_is_the_mean_over_the_explicit_noisy_inputs():
    model, x = tanh_mlp(), torch.randn(3, 6, dtype=torch.float64)
    ours = attribute(model, x, method="input_x_gradient", target=1, smooth="vargrad", nt_samples=6,
                     stdevs=0.3, seed=11)  # fmt: skip
    noisy = draw_noisy_inputs(x, 6, 0.3, seed=11)
    # Hand reduction: per-copy input x gradient, then the variance over each example's six copies.
    copies = attribute(model, noisy, method="input_x_gradient", target=1).values.reshape(3, 6, 6)
    torch.testing.assert_close(ours.values, copies.var(dim=1, unbiased=False))


def test_default_sigma_is_a_fraction_of_the_input_range(setup):
    model, x, target = setup
    result = attribute(model, x, method="input_x_gradient", target=target, smooth="smoothgrad", nt_samples=2)
    assert result.info["stdevs"] == pytest.approx(0.15 * float(x.max() - x.min()))


def test_global_rng_untouched_and_values_chunking_invariant(setup):
    model, x, target = setup
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    kwargs = {"target": target, "smooth": "smoothgrad", "nt_samples": 5, "stdevs": 0.2, "seed": 4,
              "n_steps": 6, "cache": False}  # fmt: skip
    whole = attribute(model, x, method="integrated_gradients", internal_batch_size=None, **kwargs)
    torch.testing.assert_close(torch.rand(3), expected)
    for rows in (1, 7, "auto"):
        chunked = attribute(model, x, method="integrated_gradients", internal_batch_size=rows, **kwargs)
        torch.testing.assert_close(chunked.values, whole.values, rtol=1e-5, atol=1e-8)
    other_seed = attribute(model, x, method="integrated_gradients", **{**kwargs, "seed": 5})
    assert not torch.allclose(other_seed.values, whole.values)


def test_per_example_targets_kwargs_and_baselines_follow_their_copies():
    model, x = tanh_mlp(), torch.randn(2, 6, dtype=torch.float64)
    baselines = torch.randn(2, 6, dtype=torch.float64)
    target = torch.tensor([2, 0])
    ours = attribute(model, x, method="integrated_gradients", target=target, baseline=baselines,
                     smooth="smoothgrad", nt_samples=3, stdevs=0.1, seed=2, n_steps=8)  # fmt: skip
    noisy = draw_noisy_inputs(x, 3, 0.1, seed=2)
    per_copy = attribute(model, noisy, method="integrated_gradients", target=target.repeat_interleave(3),
                         baseline=baselines.repeat_interleave(3, dim=0), n_steps=8)  # fmt: skip
    torch.testing.assert_close(ours.values, per_copy.values.reshape(2, 3, 6).mean(1))


def test_progress_counts_the_noisy_rows(setup):
    model, x, target = setup
    seen = []
    attribute(model, x, method="saliency", target=target, smooth="smoothgrad", nt_samples=4, stdevs=0.1,
              progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert seen[-1][0] == seen[-1][1] >= 3 * 4


def test_bad_smooth_options_name_the_argument(setup):
    model, x, _ = setup
    with pytest.raises(ValueError, match="smooth must be"):
        attribute(model, x, method="saliency", smooth="smoothgrads")
    with pytest.raises(ValueError, match="nt_samples must be"):
        attribute(model, x, method="saliency", smooth="smoothgrad", nt_samples=0)
    with pytest.raises(ValueError, match="stdevs must be"):
        attribute(model, x, method="saliency", smooth="smoothgrad", stdevs=-1.0)
    with pytest.raises(ValueError, match="does not apply to method='gradient_shap'"):
        attribute(model, x, method="gradient_shap", smooth="smoothgrad")
    with pytest.raises(ValueError, match="floating-point inputs"):
        attribute(torch.nn.Embedding(4, 2), torch.tensor([[1], [2]]), method="feature_ablation",
                  smooth="smoothgrad", output=lambda o: o[:, 0])  # fmt: skip
