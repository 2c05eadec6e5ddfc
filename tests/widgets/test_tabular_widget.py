"""Feature bars (TabularAttributionWidget) on a small MLP trained on scikit-learn's breast-cancer data."""

import numpy as np
import pytest
import torch
from tabular_model import LABELS, held_out_accuracy, train_tabular_mlp
from test_widget_model_safety import assert_unchanged, snapshot

import attr_widgets as aw
from attr_widgets.attribution import attribute
from attr_widgets.widgets import AttributionWidget, TabularAttributionWidget

METHODS = (
    "saliency",
    "input_x_gradient",
    "integrated_gradients",
    "gradient_shap",
    "deeplift",
    "feature_ablation",
)


@pytest.fixture(scope="module")
def table():
    model, names, x_train, x_test = train_tabular_mlp()
    return model, names, x_train, x_test


def test_the_model_learned_the_task(table):
    model = table[0]
    assert held_out_accuracy(model) >= 0.9  # 0.95 with seed 0; the majority class alone is 0.63


def test_a_row_with_feature_names_is_the_tabular_widget(table):
    model, names, _, x_test = table
    w = AttributionWidget(model, x_test[0], feature_names=names, labels=LABELS)
    assert isinstance(w, TabularAttributionWidget)
    assert w.feature_names == names and len(w.feature_values) == 30
    assert w.target == int(np.argmax(w.probabilities)) and w.top_features == 10
    # a [1, F] numpy row dispatches without feature_names too (names default to "feature i")
    w2 = aw.AttributionWidget(model, x_test[:1].numpy())
    assert isinstance(w2, TabularAttributionWidget) and w2.feature_names[3] == "feature 3"
    # "mean" is offered only with data=
    assert [b["value"] for b in w.options["baselines"]] == ["zeros"]


def test_images_still_get_the_image_widget(cnn, digit):
    w = AttributionWidget(cnn, digit, method="saliency")
    assert isinstance(w, AttributionWidget) and not isinstance(w, TabularAttributionWidget)
    assert w.heatmap.shape == (8, 8)


@pytest.mark.parametrize("method", METHODS)
def test_feature_scores_equal_attribute_on_the_same_row(table, method):
    model, names, x_train, x_test = table
    w = TabularAttributionWidget(
        model, x_test[3], feature_names=names, data=x_train, method=method, target=0, n_steps=24
    )
    ref = attribute(model, x_test[3:4], method=method, target=0, baseline="zeros", n_steps=24, cache=False)
    assert w.feature_scores.shape == (30,)
    np.testing.assert_allclose(w.feature_scores, ref.values[0].numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        w.feature_scores[0] = 1.0  # read-only


def test_integrated_gradients_complete_with_the_mean_baseline(table):
    model, names, x_train, x_test = table
    # The training table is standardised (its mean is ~0); the held-out table's mean is a distinct baseline.
    w = TabularAttributionWidget(
        model, x_test[5], feature_names=names, data=x_test, baseline="mean", n_steps=64
    )
    mean_row = x_test.mean(dim=0, keepdim=True)
    with torch.no_grad():
        gap = float(model(x_test[5:6])[0, w.target] - model(mean_row)[0, w.target])
    assert abs(gap) > 0.1
    assert abs(float(w.feature_scores.astype(np.float64).sum()) - gap) < 1e-2 * abs(gap)
    c = w.result["completeness"]
    assert c["gap"] == pytest.approx(gap, rel=1e-4) and c["relative"] < 1e-2
    assert [b["value"] for b in w.options["baselines"]] == ["zeros", "mean"]


def with_nan(row):
    row = row.clone()
    row[2] = float("nan")
    return row


# (arguments from (names, x_train, x_test), the message expected)
BAD_INPUTS = [
    (lambda n, tr, te: {"inputs": te[:3]}, r"inputs must be one row of features, got 3 rows"),
    (lambda n, tr, te: {"inputs": with_nan(te[0])}, r"inputs contains 1 NaN"),
    (lambda n, tr, te: {"inputs": te[0].long()}, r"inputs must be a float tensor"),
    (
        lambda n, tr, te: {"inputs": te[0], "feature_names": n[:29]},
        r"feature_names has 29 names but inputs has 30",
    ),
    (lambda n, tr, te: {"inputs": te[0], "data": tr[:, :5]}, r"data must be a table \[N, 30\]"),
    (lambda n, tr, te: {"inputs": te[0], "baseline": "mean"}, r"baseline='mean' needs data="),
]


@pytest.mark.parametrize(
    ("arguments", "match"), BAD_INPUTS, ids=[m.split()[0] + str(i) for i, (_, m) in enumerate(BAD_INPUTS)]
)
def test_bad_inputs_are_named(table, arguments, match):
    model, names, x_train, x_test = table
    args = {"feature_names": names, **arguments(names, x_train, x_test)}
    with pytest.raises((ValueError, TypeError), match=match):
        TabularAttributionWidget(model, **args)


def test_model_is_unchanged_and_hook_free_after_every_method(table):
    model, names, x_train, x_test = table
    before = snapshot(model)
    w = TabularAttributionWidget(model, x_test[1], feature_names=names, data=x_train, n_steps=8)
    for method in METHODS:
        for baseline in ("zeros", "mean"):
            w.baseline = baseline
            w.method = method
            assert w.error is None and w.feature_scores is not None, (method, baseline)
            assert_unchanged(model, before)


def test_changing_method_and_target_from_python_recomputes(table):
    model, names, x_train, x_test = table
    w = TabularAttributionWidget(model, x_test[2], feature_names=names, n_steps=16)
    seq, first = w.result["seq"], w.feature_scores.copy()
    w.method = "saliency"
    assert w.result["seq"] == seq + 1 and w.result["method"] == "saliency"
    assert not np.allclose(w.feature_scores, first)
    other = 1 - w.target
    w.target = other
    assert w.result["target"] == other and w.result["seq"] == seq + 2
    ref = attribute(model, x_test[2:3], method="saliency", target=other, cache=False)
    np.testing.assert_allclose(w.feature_scores, ref.values[0].numpy(), rtol=1e-5, atol=1e-6)
    # a view-only control redraws without a request
    w.top_features = 5
    assert w.result["seq"] == seq + 2
