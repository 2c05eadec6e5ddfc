"""The attribute() contract of docs/CONTRACTS.md: targets, outputs, baselines, result fields, predict."""

import json
import types
import warnings

import pytest
import torch
from attr_test_models import DictModel, ObjectModel, TupleModel, images, small_cnn, tanh_mlp

import attr_widgets.attribution as A
from attr_widgets.attribution import Attribution, attribute, methods, predict, select_output


@pytest.fixture(autouse=True)
def _fresh_cache():
    A.clear_cache()
    yield
    A.clear_cache()


def test_public_names_match_all():
    for name in A.__all__:
        assert hasattr(A, name), name
    # Submodules (axioms, metrics) become attributes once imported; they are not part of __all__.
    public = {n for n in dir(A) if not n.startswith("_") and not isinstance(getattr(A, n), types.ModuleType)}
    assert public - set(A.__all__) <= {"annotations"}


def test_methods_lists_every_design_name_with_axioms_and_options():
    design = {
        "saliency", "input_x_gradient", "integrated_gradients", "smoothgrad", "gradient_shap", "deeplift",
        "deeplift_shap", "guided_backprop", "deconvolution", "x_gradient", "occlusion", "feature_ablation",
        "layer_integrated_gradients", "grad_cam", "attention",
    }  # fmt: skip
    listed = methods()
    assert design <= set(listed)
    assert {"smoothgrad_sq", "vargrad"} <= set(listed)
    assert all(isinstance(m, str) for m in listed)
    info = {str(m): m for m in listed}
    assert set(info["integrated_gradients"].axioms) >= set(A.AXIOMS)
    assert info["integrated_gradients"].options["tol"] == 1e-3
    json.dumps([m.to_dict() for m in listed])


def test_result_fields_and_to_dict_are_plain_data():
    model, x = small_cnn(), images()
    result = attribute(model, x, method="integrated_gradients", n_steps=16)
    assert isinstance(result, Attribution)
    assert result.values.shape == x.shape and not result.values.requires_grad
    assert result.method == "integrated_gradients" and result.baseline == "zeros"
    assert result.n_steps == 16 and result.integration == "gausslegendre"
    assert result.target.dtype == torch.long and result.target.shape == (3,)
    assert result.outputs.shape == (3,) and result.baseline_outputs.shape == (3,)
    expected_delta = result.values.flatten(1).sum(1) - (result.outputs - result.baseline_outputs)
    torch.testing.assert_close(result.delta, expected_delta)
    torch.testing.assert_close(
        result.relative_delta, result.delta.abs() / (result.outputs - result.baseline_outputs).abs()
    )
    with pytest.raises(AttributeError):
        result.method = "saliency"  # frozen
    record = json.loads(json.dumps(result.to_dict()))
    assert record["method"] == "integrated_gradients" and record["n_steps"] == 16
    assert record["target"] == result.target.tolist() and record["baseline"] == "zeros"
    again = attribute(model, x, **{k: record[k] for k in ("method", "target", "n_steps", "integration")},
                      baseline=record["baseline"], cache=False)  # fmt: skip
    torch.testing.assert_close(again.values, result.values)


def test_target_none_is_the_top_class_and_outputs_are_its_logit():
    model, x = small_cnn(), images()
    logits = model(x)
    result = attribute(model, x, method="saliency")
    assert torch.equal(result.target, logits.argmax(1))
    torch.testing.assert_close(result.outputs, logits.gather(1, result.target[:, None])[:, 0])


@pytest.mark.parametrize("target", [2, torch.tensor([0, 1, 4]), [0, 1, 4]])
def test_int_and_per_example_targets(target):
    model, x = small_cnn(), images()
    result = attribute(model, x, method="saliency", target=target)
    expected = torch.as_tensor(target).expand(3)
    assert torch.equal(result.target, expected)
    x_req = x.clone().requires_grad_(True)
    model(x_req).gather(1, expected[:, None]).sum().backward()
    torch.testing.assert_close(result.values, x_req.grad)


def test_callable_target_attributes_a_logit_difference():
    model, x = tanh_mlp(), torch.randn(4, 6, dtype=torch.float64)

    def margin(out):
        return out[:, 0] - out[:, 1]

    result = attribute(model, x, method="integrated_gradients", target=margin, n_steps=32)
    a0 = attribute(model, x, method="integrated_gradients", target=0, n_steps=32).values
    a1 = attribute(model, x, method="integrated_gradients", target=1, n_steps=32).values
    torch.testing.assert_close(result.values, a0 - a1)  # IG is linear in the model
    assert result.target is margin
    assert result.to_dict()["target"].endswith("margin")


@pytest.mark.parametrize("bad", [5, -1, torch.tensor([0, 9, 1])])
def test_target_out_of_range_names_target_and_class_count(bad):
    with pytest.raises(ValueError, match=r"target .*5 classes"):
        attribute(small_cnn(), images(), method="saliency", target=bad)


def test_callable_target_with_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="target"):
        attribute(small_cnn(), images(), method="saliency", target=lambda out: out)


@pytest.mark.parametrize(
    ("wrap", "output"),
    [
        (TupleModel, None),
        (TupleModel, 0),
        (DictModel, None),
        (lambda m: DictModel(m, "scores"), "scores"),
        (ObjectModel, None),
        (ObjectModel, "logits"),
        (ObjectModel, lambda out: out.scores / 2),
    ],
)
def test_output_selector_reaches_the_logits(wrap, output):
    inner, x = small_cnn(), images()
    expected = attribute(inner, x, method="integrated_gradients", n_steps=8).values
    got = attribute(wrap(inner), x, method="integrated_gradients", n_steps=8, output=output).values
    torch.testing.assert_close(got, expected)


def test_output_that_is_not_batch_by_classes_explains_output_argument():
    inner = small_cnn()
    with pytest.raises(ValueError, match=r"output=.*\[B, classes\]"):
        attribute(DictModel(inner, "scores"), images(), method="saliency")
    with pytest.raises(ValueError, match=r"output="):
        attribute(TupleModel(inner), images(), method="saliency", output=lambda out: out[0][:, 0])
    with pytest.raises(ValueError, match=r"output='nope'"):
        attribute(TupleModel(inner), images(), method="saliency", output="nope")


def test_select_output_is_public_and_checks_the_batch():
    logits = torch.randn(2, 3)
    assert select_output((logits, None)) is logits
    assert select_output({"logits": logits}) is logits
    with pytest.raises(ValueError, match="output="):
        select_output(logits, batch_size=5)


@pytest.mark.parametrize("baseline", ["zeros", "blur", "uniform"])
def test_named_baselines_give_complete_ig(baseline):
    model, x = tanh_mlp(features=12).float(), torch.rand(2, 3, 4).double()
    model = model.double()
    flat = torch.nn.Sequential(torch.nn.Flatten(), model)
    result = attribute(flat, x, method="integrated_gradients", baseline=baseline, n_steps=64)
    assert result.baseline == baseline
    assert result.relative_delta.max() < 1e-6


def test_tensor_baseline_broadcasts_and_mean_baseline_uses_data():
    model, x = small_cnn(), images()
    one = torch.full((3, 8, 8), 0.5)
    a = attribute(model, x, method="integrated_gradients", baseline=one, n_steps=8)
    b = attribute(model, x, method="integrated_gradients", baseline=one.expand(3, 3, 8, 8).clone(), n_steps=8)
    torch.testing.assert_close(a.values, b.values)
    assert a.baseline == "tensor"
    data = torch.rand(10, 3, 8, 8)
    mean = attribute(model, x, method="integrated_gradients", baseline="mean", data=data, n_steps=8)
    explicit = attribute(model, x, method="integrated_gradients", baseline=data.mean(0), n_steps=8)
    torch.testing.assert_close(mean.values, explicit.values)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data, torch.zeros(10)), batch_size=3)
    from_loader = attribute(model, x, method="integrated_gradients", baseline="mean", data=loader, n_steps=8)
    torch.testing.assert_close(from_loader.values, explicit.values)


def test_baseline_errors_name_the_argument():
    model, x = small_cnn(), images()
    with pytest.raises(ValueError, match=r"baseline.*\(3, 5, 5\).*broadcast"):
        attribute(model, x, method="integrated_gradients", baseline=torch.zeros(3, 5, 5))
    with pytest.raises(ValueError, match="data="):
        attribute(model, x, method="integrated_gradients", baseline="mean")
    with pytest.raises(ValueError, match="Did you mean 'blur'"):
        attribute(model, x, method="integrated_gradients", baseline="blurr")


def test_blur_baseline_is_a_smoothed_copy():
    x = images()
    blurred = A._baselines.blur(x, 1.0)
    assert blurred.shape == x.shape
    torch.testing.assert_close(blurred.mean(dim=(2, 3)), x.mean(dim=(2, 3)), atol=0.05, rtol=0)
    assert blurred.var(dim=(2, 3)).max() < x.var(dim=(2, 3)).max()
    const = torch.full((1, 1, 5, 5), 2.0)
    torch.testing.assert_close(A._baselines.blur(const, 1.0), const)


def test_uniform_baseline_is_reproducible_from_seed():
    x = images()
    a = A._baselines.make_baseline("uniform", x, seed=3)
    b = A._baselines.make_baseline("uniform", x, seed=3)
    assert torch.equal(a, b) and a.min() >= x.min() and a.max() <= x.max()
    assert not torch.equal(a, A._baselines.make_baseline("uniform", x, seed=4))


def test_predict_top_k_softmax():
    model, x = small_cnn(), images()
    probs, indices = predict(model, x, k=3)
    full = torch.softmax(model(x), 1)
    expected = full.topk(3, dim=1)
    torch.testing.assert_close(probs, expected.values)
    assert torch.equal(indices, expected.indices)
    probs_t, _ = predict(TupleModel(model), x, k=2)
    torch.testing.assert_close(probs_t, expected.values[:, :2])
    with pytest.raises(ValueError, match="k must"):
        predict(model, x, k=0)


QUIET_METHODS = (
    "saliency",
    "input_x_gradient",
    "integrated_gradients",
    "smoothgrad",
    "guided_backprop",
    "deconvolution",
    "deeplift",
    "deeplift_shap",
    "gradient_shap",
    "occlusion",
    "feature_ablation",
)


def test_normal_calls_emit_no_warnings():
    model, x = small_cnn(), images()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in QUIET_METHODS:
            attribute(model, x, method=method)
        attribute(model, x, method="grad_cam", layer=model[2])
        attribute(model, x, method="layer_integrated_gradients", layer="2", n_steps=8)


def test_values_live_on_the_models_device_and_inputs_are_moved():
    model, x = small_cnn(), images()
    result = attribute(model, x.double().float(), method="saliency")
    assert result.values.device == next(model.parameters()).device


def test_predict_k_none_returns_every_class_most_probable_first():
    model, x = small_cnn(classes=5), images()
    probs, indices = predict(model, x, k=None)
    expected = torch.softmax(model(x), 1).sort(dim=1, descending=True)
    torch.testing.assert_close(probs, expected.values)
    assert torch.equal(indices, expected.indices)
    torch.testing.assert_close(probs.sum(1), torch.ones(x.shape[0]))
    for bad in (0, -1, 2.0, True, "all"):
        with pytest.raises(ValueError, match="k must be a positive int or None"):
            predict(model, x, k=bad)


def test_uses_steps_marks_the_methods_whose_n_steps_sets_the_quadrature():
    listed = {str(m): m for m in methods()}
    assert {name for name, m in listed.items() if m.uses_steps} == {
        "integrated_gradients",
        "layer_integrated_gradients",
        "layer_conductance",
        "internal_influence",
        "neuron_integrated_gradients",
        "neuron_conductance",
    }
    assert all(m.to_dict()["uses_steps"] is m.uses_steps for m in listed.values())
    model, x = small_cnn(), images()
    for name, method_options in (
        ("integrated_gradients", {}),
        ("layer_integrated_gradients", {"layer": "0"}),
    ):
        assert attribute(model, x, method=name, n_steps=6, **method_options).n_steps == 6
    # A method without uses_steps reports no step count whatever n_steps says.
    assert attribute(model, x, method="saliency", n_steps=6).n_steps is None
