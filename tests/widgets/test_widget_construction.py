"""AttributionWidget(model, inputs, ...): what it computes on construction, and the errors it raises."""

import numpy as np
import pytest
import torch
from captum.attr import InputXGradient, IntegratedGradients, Saliency
from torch import nn
from widget_test_models import DictOutput, FlatOutput, ObjectOutput, SmoothCNN, TupleOutput

from attr_widgets.attribution import attribute, methods
from attr_widgets.widgets import AttributionWidget


def test_defaults_follow_the_top_class(cnn, digit):
    w = AttributionWidget(cnn, digit)
    logits = cnn(digit[None])
    assert w.target == int(logits.argmax())
    assert w.method == "integrated_gradients" and w.baseline == "zeros" and w.n_steps == 50
    assert w.request_seq == 1 and w.result["seq"] == 1 and w.result["error"] is None
    assert w.heatmap.shape == (8, 8)
    assert w.num_classes == 10 and w.labels == [str(i) for i in range(10)]


def test_top_k_lists_the_five_most_probable_classes(cnn, digit):
    w = AttributionWidget(cnn, digit, labels=[f"digit {i}" for i in range(10)])
    probs = torch.softmax(cnn(digit[None]), dim=1)[0]
    expected = probs.argsort(descending=True)[:5].tolist()
    assert [p["index"] for p in w.top_k] == expected
    assert [p["label"] for p in w.top_k] == [f"digit {i}" for i in expected]
    np.testing.assert_allclose([p["prob"] for p in w.top_k], probs[expected].detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(w.probabilities.sum(), 1.0, rtol=1e-6)


def test_labels_as_a_dict(cnn, digit):
    w = AttributionWidget(cnn, digit, labels={3: "three"})
    assert w.labels[3] == "three" and w.labels[4] == "4"


@pytest.mark.parametrize(
    ("method", "reference"),
    [
        ("saliency", lambda m, x, t: Saliency(m).attribute(x, target=t, abs=False)),
        ("input_x_gradient", lambda m, x, t: InputXGradient(m).attribute(x, target=t)),
        (
            "integrated_gradients",
            lambda m, x, t: IntegratedGradients(m).attribute(x, target=t, n_steps=50, method="gausslegendre"),
        ),
    ],
)
def test_heatmap_is_captums_attribution_summed_over_channels(smooth_cnn, method, reference):
    torch.manual_seed(1)
    x = torch.rand(1, 1, 8, 8)
    w = AttributionWidget(smooth_cnn, x, method=method, target=2)
    expected = reference(smooth_cnn, x.clone().requires_grad_(), 2).sum(dim=1)[0].detach().numpy()
    np.testing.assert_allclose(w.heatmap, expected, rtol=1e-4, atol=1e-6)


def test_rgb_heatmap_sums_channels(digit):
    torch.manual_seed(0)
    model = SmoothCNN(channels=3).eval()
    x = torch.rand(3, 8, 8)
    w = AttributionWidget(model, x, method="input_x_gradient", target=1)
    values = InputXGradient(model).attribute(x[None].clone().requires_grad_(), target=1)
    np.testing.assert_allclose(w.heatmap, values.sum(dim=1)[0].detach().numpy(), rtol=1e-4, atol=1e-6)
    assert w.attribution.values.shape == (1, 3, 8, 8)


def test_completeness_badge_matches_the_definition(smooth_cnn, digit):
    """Seed 002 (IG) completeness: Σ attributions = f(x) − f(baseline); the badge shows the relative gap."""
    w = AttributionWidget(smooth_cnn, digit, n_steps=50)
    c, t = w.result["completeness"], w.target
    with torch.no_grad():
        fx = smooth_cnn(digit[None])[0, t].item()
        fb = smooth_cnn(torch.zeros(1, 1, 8, 8))[0, t].item()
    total = float(w.heatmap.astype(np.float64).sum())
    assert c["fx"] == pytest.approx(fx, rel=1e-5) and c["fb"] == pytest.approx(fb, rel=1e-5, abs=1e-6)
    gap = abs(fx - fb)
    assert c["relative"] == pytest.approx(abs(c["delta"]) / gap, rel=1e-5)
    # the heatmap (float32, summed over channels) carries the same total, up to float32 rounding
    assert abs(total - (fx - fb)) == pytest.approx(abs(c["delta"]), abs=1e-5 * gap + 1e-6)
    assert c["relative"] < 1e-2  # green on a smooth model at 50 steps


def test_methods_without_completeness_send_none(cnn, digit):
    w = AttributionWidget(cnn, digit, method="saliency")
    assert w.result["completeness"] is None


def test_method_options_describe_the_controls(cnn, digit):
    w = AttributionWidget(cnn, digit)
    entries = {m["value"]: m for m in w.options["methods"]}
    assert {"saliency", "input_x_gradient", "integrated_gradients", "smoothgrad"} <= entries.keys()
    assert entries["integrated_gradients"] == {
        "value": "integrated_gradients",
        "label": "Integrated Gradients",
        "uses_baseline": True,
        "baselines": ["zeros", "blur", "uniform"],
        "uses_steps": True,
        "completeness": True,
    }
    assert entries["saliency"]["uses_baseline"] is False
    # A pair that always fails is never offered: GradientSHAP samples a baseline distribution.
    assert entries["gradient_shap"]["baselines"] == ["zeros", "uniform"]
    with pytest.raises(ValueError, match="distribution"):
        attribute(cnn, digit[None], method="gradient_shap", baseline="blur")
    assert set(entries) <= set(methods())
    assert [b["value"] for b in w.options["baselines"]] == ["zeros", "blur", "uniform"]
    assert [s["value"] for s in w.options["sign_modes"]] == ["positive", "negative", "absolute", "signed"]


def test_methods_argument_limits_the_selector(cnn, digit):
    w = AttributionWidget(cnn, digit, methods=["saliency", "smoothgrad"], method="saliency")
    assert [m["value"] for m in w.options["methods"]] == ["saliency", "smoothgrad"]
    with pytest.raises(ValueError, match="method='integrated_gradients' is not available here"):
        w.method = "integrated_gradients"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"colour": "red"}, TypeError, "unexpected keyword argument 'colour'"),
        ({"method": "integrated_gradient"}, ValueError, "Did you mean 'integrated_gradients'"),
        ({"baseline": "black"}, ValueError, "baseline='black' is not available here"),
        ({"target": 10}, ValueError, r"target 10 is out of range: the model has 10 classes \(0..9\)"),
        ({"target": 1.5}, TypeError, "target must be an int"),
        ({"n_steps": 0}, ValueError, "n_steps must be between 1 and 2000, got 0"),
        ({"opacity": 2}, ValueError, "opacity must be between 0.0 and 1.0"),
        ({"sign_mode": "both"}, ValueError, "sign_mode='both' is not available here"),
        ({"labels": ["a", "b"]}, ValueError, "labels has 2 names but the model has 10 classes"),
        ({"labels": "abc"}, TypeError, "labels must be a sequence of class names"),
        ({"methods": ["saliency", "gradcam"]}, ValueError, "methods: 'gradcam' is not a known method"),
        ({"methods": "saliency"}, TypeError, "methods must be a non-empty list"),
        ({"tokenizer": object()}, TypeError, "tokenizer=: text inputs need the model.s tokenizer"),
    ],
)
def test_bad_arguments_raise_naming_them(cnn, digit, kwargs, error, message):
    with pytest.raises(error, match=message):
        AttributionWidget(cnn, digit, **kwargs)


def test_model_must_be_a_module(digit):
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got function"):
        AttributionWidget(lambda x: x, digit)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (torch.ones(8, 8), r"inputs must be an image of shape \[1, C, H, W\] or \[C, H, W\], got shape"),
        (torch.ones(64), r"(?s)inputs of shape \(64,\), read as feature values.*\[1, C, H, W\]"),
        (torch.ones(2, 1, 8, 8), "batch of 2"),
        (torch.full((1, 8, 8), float("nan")), "inputs contains 64 NaN or Inf pixel"),
    ],
)
def test_non_image_inputs_name_inputs(cnn, inputs, message):
    with pytest.raises(ValueError, match=message):
        AttributionWidget(cnn, inputs)


def test_wrong_channel_count_names_the_first_convolution(cnn):
    message = r"(?s)inputs: the model raised RuntimeError.*first convolution \(0: Conv2d"
    with pytest.raises(ValueError, match=message + r".*expects 1 channel\(s\) but inputs has 3"):
        AttributionWidget(cnn, torch.rand(3, 8, 8))


def test_wrong_image_size_reraises_the_models_error(cnn):
    message = r"inputs: the model raised RuntimeError on an input of shape \(1, 1, 10, 10\)"
    with pytest.raises(ValueError, match=message):
        AttributionWidget(cnn, torch.rand(1, 10, 10))


def test_numpy_inputs(cnn, digit):
    w = AttributionWidget(cnn, digit.numpy().astype(np.float64))
    assert w.inputs.dtype == torch.float32 and w.inputs.shape == (1, 1, 8, 8)


@pytest.mark.parametrize("wrapper", [TupleOutput, ObjectOutput])
def test_default_output_selection(cnn, digit, wrapper):
    w = AttributionWidget(wrapper(cnn), digit, method="saliency")
    assert w.num_classes == 10 and w.result["error"] is None


def test_output_selector_for_a_dict(cnn, digit):
    w = AttributionWidget(DictOutput(cnn), digit, output="scores", method="saliency")
    assert w.num_classes == 10
    lam = AttributionWidget(DictOutput(cnn), digit, output=lambda out: out["scores"], method="saliency")
    np.testing.assert_allclose(lam.heatmap, w.heatmap)


def test_output_that_is_not_batch_by_classes_says_how_to_select(cnn, digit):
    message = r"output=None: expected the selected model output to be a \[B, classes\]"
    with pytest.raises(ValueError, match=message):
        AttributionWidget(FlatOutput(cnn), digit)
    with pytest.raises(ValueError, match=r"output='logits'.*Pass output= a key"):
        AttributionWidget(DictOutput(cnn), digit, output="logits")


def test_model_parameters_of_another_dtype(digit):
    torch.manual_seed(0)
    model = SmoothCNN().double().eval()
    w = AttributionWidget(model, digit)
    assert w.inputs.dtype == torch.float64 and w.heatmap.dtype == np.float32


def test_model_without_convolutions():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    w = AttributionWidget(model, torch.rand(3, 2, 2), labels=["a", "b", "c"])
    assert w.heatmap.shape == (2, 2) and len(w.top_k) == 3


def test_labels_may_be_a_numpy_array_of_names(cnn, digit):
    import attr_widgets as aw

    names = np.array([f"digit {i}" for i in range(10)])
    w = aw.AttributionWidget(cnn, digit, labels=names, method="saliency")
    assert w.labels == list(names) and w.top_k[0]["label"] == names[w.top_k[0]["index"]]
    with pytest.raises(ValueError, match=r"labels: a numpy array of names must be 1-D, got shape \(2, 5\)"):
        aw.AttributionWidget(cnn, digit, labels=names.reshape(2, 5), method="saliency")
