"""CompareWidget: the maps equal the engine's, one shared scale, agreement equal to scipy, bad input named."""

import warnings

import numpy as np
import pytest
import torch
from ipywidgets.widgets.widget import _remove_buffers
from scipy.stats import spearmanr
from torch import nn
from widget_test_models import Switchable

from attr_widgets.attribution import attribute
from attr_widgets.widgets import CompareWidget
from attr_widgets.widgets._serialize import channel_sum, unpack

FIVE = ("saliency", "integrated_gradients", "smoothgrad", "grad_cam", "occlusion")
FAST = ("saliency", "input_x_gradient", "integrated_gradients")


def test_each_map_is_the_engines_attribution_for_the_same_settings(cnn, digit):
    c = CompareWidget(cnn, digit, methods=FIVE, target=3, n_steps=20)
    assert c.method_names == list(FIVE) and sorted(c.attributions) == sorted(FIVE)
    for name in FIVE:
        options = {"layer": "2"} if name == "grad_cam" else {}  # the last Conv2d of the digits CNN
        expected = attribute(cnn, digit[None], method=name, target=3, n_steps=20, cache=False, **options)
        np.testing.assert_allclose(c.maps[name], channel_sum(expected.values), rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(unpack(c.result["maps"][name]), c.maps[name])
        assert c.attributions[name].method == name


def test_every_map_is_drawn_on_the_one_shared_extent(cnn, digit):
    c = CompareWidget(cnn, digit, methods=FIVE, outlier_percent=0.0)
    # At 0 % clipping the extent is the largest magnitude of all maps together.
    assert c.scale == pytest.approx(max(float(np.abs(m).max()) for m in c.maps.values()))
    assert set(c.extents.values()) == {c.scale} and sorted(c.extents) == sorted(FIVE)
    c.outlier_percent = 2.0
    pooled = np.abs(np.concatenate([m.ravel() for m in c.maps.values()]))
    pooled = pooled[pooled > 0]
    # The 98th percentile, by its definition: at least 98 % of the magnitudes are at most the extent, and
    # fewer than 98 % are below it.
    assert np.mean(pooled <= c.scale) >= 0.98 > np.mean(pooled < c.scale)
    assert set(c.extents.values()) == {c.scale}


def test_own_scales_give_each_map_its_own_extent(cnn, digit):
    c = CompareWidget(cnn, digit, methods=FAST, shared_scale=False, outlier_percent=0.0)
    for name, extent in c.extents.items():
        assert extent == pytest.approx(float(np.abs(c.maps[name]).max()))
    assert len(set(c.extents.values())) == len(FAST)
    c.sign_mode = "positive"
    for name, extent in c.extents.items():
        assert extent == pytest.approx(float(c.maps[name].clip(min=0).max()))


def test_agreement_equals_scipy_and_a_direct_top_k_count(cnn, digit):
    c = CompareWidget(cnn, digit, methods=FIVE, k=9)
    agreement = c.agreement
    assert agreement["methods"] == list(FIVE) and agreement["k"] == 9
    for i, a in enumerate(FIVE):
        for j, b in enumerate(FIVE):
            x, y = np.abs(c.maps[a]).ravel(), np.abs(c.maps[b]).ravel()
            assert agreement["spearman"][i][j] == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
            top = [set(sorted(range(x.size), key=lambda p, v=v: (-v[p], p))[:9]) for v in (x, y)]
            assert agreement["topk"][i][j] == len(top[0] & top[1]) / 9
    assert [agreement["spearman"][i][i] for i in range(5)] == [1.0] * 5
    c.k = 20  # view-only: no recompute, new matrices
    assert c.request_seq == 1 and c.agreement["k"] == 20
    assert c.agreement_state["seq"] == c.result["seq"]


def test_fast_methods_are_published_first_each_at_once(cnn, digit):
    c = CompareWidget(cnn, digit, methods=FIVE)
    measured = c.result["method_ms"]
    published = []
    c.observe(lambda change: published.append(change["new"]), "result")
    c.target = (c.target + 1) % 10
    assert [r["seq"] for r in published] == [2] * len(FIVE)
    assert [r["complete"] for r in published] == [False] * (len(FIVE) - 1) + [True]
    assert [len(r["finished"]) for r in published] == list(range(1, len(FIVE) + 1))
    # Each partial result sends only its new map; the complete one sends all.
    assert [len(r["maps"]) for r in published] == [1] * (len(FIVE) - 1) + [len(FIVE)]
    order = [*(next(iter(r["maps"])) for r in published[:-1]), *(set(FIVE) - set(published[-2]["finished"]))]
    # The order of this request is the previous request's measured time, fastest first.
    assert order == sorted(FIVE, key=lambda name: measured[name])
    # Every partial result answers the same controls: the view's one staleness rule shows them.
    assert all(r["controls"] == {"baseline": "zeros", "n_steps": 50, "target": c.target} for r in published)
    assert {s["state"] for s in c.method_states["states"].values()} == {"done"}


def test_an_overtaken_request_never_publishes_a_partial_result(cnn, digit):
    model = Switchable(cnn)
    c = CompareWidget(model, digit, methods=FAST)
    seen = []
    c.observe(lambda change: seen.append((change["new"]["seq"], c._seq)), "result")
    model.gate.clear()
    model.entered.clear()
    c.set_state({"target": 1})  # request 2 blocks inside its first method
    assert model.entered.wait(10)
    c.set_state({"target": 2})  # request 3 overtakes it
    model.gate.set()
    c.wait()
    assert all(result_seq == newest for result_seq, newest in seen), seen
    assert seen[-1][0] == 3 and c.result["target"] == 2 and c.result["complete"]


def test_cancel_keeps_the_finished_maps_and_marks_the_rest(cnn, digit):
    model = Switchable(cnn)
    c = CompareWidget(model, digit, methods=FAST)
    original = c._publish_partial

    def cancel_after_first(*args, **kwargs):
        original(*args, **kwargs)
        c.cancel()

    c._publish_partial = cancel_after_first
    c.set_state({"target": 4})
    with pytest.raises(Exception, match="cancelled"):
        c.wait()
    assert c.activity["state"] == "cancelled"
    states = {name: s["state"] for name, s in c.method_states["states"].items()}
    assert sorted(states.values()) == ["cancelled", "cancelled", "done"]
    assert len(c.result["maps"]) == 1 and not c.result["complete"] and c.result["target"] == 4
    assert sorted(c.attributions) == [name for name, state in states.items() if state == "done"]


def test_a_failing_method_leaves_the_others_on_screen(cnn, digit):
    # A window larger than the image: the engine rejects it; saliency still shows.
    bad = {"occlusion": {"sliding_window_shapes": (1, 20, 20)}}
    c = CompareWidget(cnn, digit, methods=("saliency", "occlusion"), method_options=bad)
    assert sorted(c.attributions) == ["saliency"]
    assert "sliding_window_shapes" in c.method_errors["occlusion"]
    assert c.method_states["states"]["occlusion"]["state"] == "error"
    assert c.agreement["spearman"][0][1] is None
    with pytest.warns(UserWarning, match="1 method"):
        c.target = 5


def test_the_model_is_left_as_it_was(cnn, digit):
    cnn.train()
    flags = [p.requires_grad for p in cnn.parameters()]
    CompareWidget(cnn, digit, methods=FIVE)
    assert cnn.training and [p.requires_grad for p in cnn.parameters()] == flags
    assert all(not m._forward_hooks and not m._backward_hooks for m in cnn.modules())


class NoConv(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        return self.fc(x.flatten(1))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"methods": ("saliency", "integrated_gradient")}, ValueError, "Did you mean 'integrated_gradients'"),
        ({"methods": ()}, ValueError, "methods is empty"),
        ({"methods": "saliency"}, TypeError, "list of method names"),
        ({"methods": ("saliency", "saliency")}, ValueError, "listed twice"),
        ({"methods": ("layer_conductance",)}, ValueError, "layer-shaped values"),
        ({"methods": ("attention",)}, ValueError, "token models"),
        ({"methods": ("saliency",), "method_options": {"occlusion": {}}}, ValueError, "not one of methods="),
        (
            {"methods": ("saliency",), "k": 65},
            ValueError,
            r"k must be between 1 and the number of pixels \(64\)",
        ),
        ({"methods": ("gradient_shap",), "baseline": "blur"}, ValueError, "baseline='blur' is not available"),
    ],
)
def test_bad_input_is_named(cnn, digit, kwargs, error, match):
    with pytest.raises(error, match=match):
        CompareWidget(cnn, digit, **kwargs)


def test_grad_cam_defaults_to_the_last_conv_or_says_why_it_cannot(cnn, digit):
    c = CompareWidget(cnn, digit, methods=("grad_cam",))
    assert c.attributions["grad_cam"].layer == "2"
    assert c.options["methods"][0]["detail"] == "layer 2"
    c = CompareWidget(cnn, digit, methods=("grad_cam",), layer="0")
    assert c.attributions["grad_cam"].layer == "0"
    with pytest.raises(ValueError, match="no Conv2d to default to; pass layer="):
        CompareWidget(NoConv().eval(), digit, methods=("grad_cam",))


def test_a_model_with_one_class_is_refused_with_the_fix(digit):
    with pytest.raises(ValueError, match=r"model: its output has a single class.*torch.cat\(\[-z, z\]"):
        CompareWidget(NoConv(classes=1).eval(), digit, methods=("saliency",))


def test_methods_needing_no_layer_work_on_a_model_without_convolutions(digit):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = CompareWidget(NoConv().eval(), digit, methods=("saliency", "occlusion"))
    assert sorted(c.attributions) == ["occlusion", "saliency"]


def test_bad_inputs_are_named(cnn):
    with pytest.raises(ValueError, match="inputs must be an image"):
        CompareWidget(cnn, torch.zeros(8, 8), methods=("saliency",))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        CompareWidget("model", torch.zeros(1, 8, 8), methods=("saliency",))


def test_maps_travel_as_buffers_and_progress_as_small_json(cnn, digit):
    c = CompareWidget(cnn, digit, methods=FIVE)
    state, paths, buffers = _remove_buffers(c.get_state())
    assert sorted(p[2] for p in paths if p[:2] == ["result", "maps"]) == sorted(FIVE)
    assert all(
        memoryview(b).nbytes == 8 * 8 * 4 for p, b in zip(paths, buffers, strict=True) if p[0] == "result"
    )
    sizes = []
    c.observe(lambda change: sizes.append(len(repr(change["new"]))), "method_states")
    c.target = (c.target + 1) % 10
    assert sizes and max(sizes) < 1500  # per-method progress never carries a map


def test_the_first_request_orders_by_estimated_model_evaluations(cnn, digit):
    from attr_widgets.widgets._compare_methods import compute_order, plan_methods

    plans = plan_methods(("occlusion", "integrated_gradients", "smoothgrad", "saliency", "grad_cam"), cnn)
    x = digit[None]
    # 1 pass (saliency, Grad-CAM, in the given order), 25 samples, n_steps + 2 = 52 points, 64 windows + 1.
    order = [p.name for p in compute_order(plans, {}, x, n_steps=50)]
    assert order == ["saliency", "grad_cam", "smoothgrad", "integrated_gradients", "occlusion"]
    assert [p.name for p in compute_order(plans, {}, x, n_steps=10)][2] == "integrated_gradients"
    # Once measured, time decides; a method never run is placed at the slowest measured rate per evaluation:
    # here saliency's 3 ms for one pass, so Grad-CAM (one pass) is expected at 3 ms, after saliency (a tie
    # keeps the given order) and before IG's measured 50 ms.
    measured = {"occlusion": 1.0, "integrated_gradients": 50.0, "smoothgrad": 2.0, "saliency": 3.0}
    order = [p.name for p in compute_order(plans, measured, x, n_steps=50)]
    assert order == ["occlusion", "smoothgrad", "saliency", "grad_cam", "integrated_gradients"]
    measured["saliency"] = 0.5  # now IG's 50 ms / 52 points is the slowest rate: Grad-CAM ≈ 0.96 ms
    order = [p.name for p in compute_order(plans, measured, x, n_steps=50)]
    assert order == ["saliency", "grad_cam", "occlusion", "smoothgrad", "integrated_gradients"]


def test_a_request_where_every_method_fails_raises_and_shows_the_error(cnn, digit):
    model = Switchable(cnn)
    c = CompareWidget(model, digit, methods=FAST)
    model.fail = True
    with pytest.raises(RuntimeError, match="injected failure"):
        c.target = 2
    assert c.result["error"].startswith("RuntimeError: injected failure") and c.result["maps"] == {}
    assert c.attributions == {} and isinstance(c.error, RuntimeError)
    model.fail = False
    c.target = 3
    assert c.error is None and sorted(c.attributions) == sorted(FAST)


def test_a_row_of_features_compares_as_bars_with_the_same_measures():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))
    from tabular_model import tabular_mlp

    torch.manual_seed(0)
    mlp = tabular_mlp(features=12, hidden=8).eval()
    row = torch.randn(12)
    names = [f"f{i}" for i in range(12)]
    c = CompareWidget(mlp, row, feature_names=names, outlier_percent=0.0)
    assert c.kind == "tabular" and c.image is None and c.feature_names == names
    assert c.feature_values == pytest.approx(row.tolist())
    assert c.method_names == [
        "saliency",
        "input_x_gradient",
        "integrated_gradients",
        "gradient_shap",
        "feature_ablation",
    ]
    for name in c.method_names:
        expected = attribute(mlp, row[None], method=name, target=c.target, cache=False).values[0]
        np.testing.assert_allclose(c.maps[name], expected.numpy(), rtol=1e-5, atol=1e-7)
    assert c.scale == pytest.approx(max(float(np.abs(m).max()) for m in c.maps.values()))
    a, b = c.maps["saliency"], c.maps["feature_ablation"]
    assert c.agreement["spearman"][0][4] == pytest.approx(spearmanr(np.abs(a), np.abs(b)).statistic)
    assert c.k == 2  # a tenth of the features, rounded up
    with pytest.raises(ValueError, match=r"number of features \(12\)"):
        c.k = 13
    with pytest.raises(ValueError, match="no Conv2d to default to"):
        CompareWidget(mlp, row, methods=("grad_cam",))
