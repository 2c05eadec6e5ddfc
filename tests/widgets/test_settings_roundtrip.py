"""to_dict() / from_dict() / export_settings / save(): the settings on screen reproduce its result."""

import importlib.util
import json

import numpy as np
import pytest
import torch
from tabular_model import LABELS as TABLE_LABELS
from tabular_model import train_tabular_mlp
from widget_test_models import Switchable

import attr_widgets as aw
from attr_widgets.examples import LABELS as TEXT_LABELS
from attr_widgets.examples import minilm_sentiment_classifier
from attr_widgets.widgets import (
    AttributionWidget,
    CompareWidget,
    DirectionsWidget,
    TabularAttributionWidget,
    TextAttributionWidget,
)

IMAGE_METHODS = ("saliency", "integrated_gradients", "input_x_gradient", "feature_ablation", "occlusion")


def values_equal(a, b, atol=1e-6):
    return a.shape == b.shape and torch.allclose(a.detach().cpu(), b.detach().cpu(), atol=atol, rtol=0)


def json_round_trip(d):
    return json.loads(json.dumps(d))


@pytest.fixture(scope="module")
def minilm():
    tokenizer, model, _ = minilm_sentiment_classifier()
    return tokenizer, model


@pytest.fixture(scope="module")
def table():
    model, names, x_train, x_test = train_tabular_mlp()
    return model, names, x_train, x_test


@pytest.mark.parametrize("method", IMAGE_METHODS)
def test_image_settings_reproduce_the_attribution_on_screen(cnn, digit, method):
    w = AttributionWidget(cnn, digit, method=method, methods=IMAGE_METHODS, n_steps=12, baseline="blur")
    w.target = 4  # not the top class: the dict holds the resolved index
    d = json_round_trip(w.to_dict())
    assert d["widget"] == "AttributionWidget" and d["version"] == 1 and d["call"] == "attribute"
    assert d["settings"]["method"] == method and d["settings"]["target"] == 4
    assert d["controls"] == {**d["controls"], "method": method, "target": 4, "n_steps": 12}
    # cache=False: a real second computation, not the widget's own result handed back
    again = aw.attribute(cnn, w.inputs, cache=False, **d["settings"])
    assert values_equal(again.values, w.attribution.values)
    replayed = AttributionWidget.from_dict(cnn, digit, d)
    assert values_equal(replayed.attribution.values, w.attribution.values)
    assert replayed.to_dict() == d


def test_image_settings_carry_only_what_the_method_reads(cnn, digit):
    saliency = AttributionWidget(cnn, digit, method="saliency").to_dict()["settings"]
    assert "n_steps" not in saliency and "baseline" not in saliency  # the engine ignores them for saliency
    ig = AttributionWidget(cnn, digit, method="integrated_gradients", n_steps=9).to_dict()
    assert ig["settings"]["n_steps"] == 9 and ig["settings"]["baseline"] == "zeros"


def test_image_figures_are_the_numbers_on_screen(cnn, digit):
    w = AttributionWidget(cnn, digit, method="integrated_gradients", n_steps=16, outlier_percent=0.0)
    figures = w.to_dict()["figures"]
    assert figures["completeness"]["delta"] == pytest.approx(float(w.attribution.delta[0]))
    assert figures["steps_taken"] == 16
    assert figures["scale_extent"] == pytest.approx(float(np.abs(w.heatmap).max()), rel=1e-6)
    assert figures["target_prob"] == pytest.approx(float(w.probabilities[w.target]))
    w.sign_mode = "positive"  # a view control: the export follows it without a recompute
    assert w.export_settings["view"]["sign_mode"] == "positive"
    assert w.export_settings["figures"]["scale_extent"] == pytest.approx(float(w.heatmap.clip(0).max()))


def test_export_settings_follows_each_final_result(cnn, digit):
    w = AttributionWidget(cnn, digit, method="saliency")
    assert w.export_settings == w.to_dict()
    w.method = "integrated_gradients"
    assert w.export_settings["settings"]["method"] == "integrated_gradients"
    assert w.export_settings == w.to_dict()
    json.dumps(w.export_settings)  # a synced trait the browser reads as JSON


def test_text_settings_reproduce_the_token_attribution(minilm):
    tokenizer, model = minilm
    w = TextAttributionWidget(model, "A dull, lifeless film.", tokenizer=tokenizer, labels=TEXT_LABELS,
                              n_steps=8, target=1)  # fmt: skip
    d = json_round_trip(w.to_dict())
    assert d["settings"]["layer"] and d["settings"]["baseline"] == "pad"
    ids, mask = torch.tensor(d["inputs"]["input_ids"]), torch.tensor(d["inputs"]["attention_mask"])
    again = aw.attribute(model, ids, forward_kwargs={"attention_mask": mask}, cache=False, **d["settings"])
    assert values_equal(again.values, w.attribution.values)
    replayed = TextAttributionWidget.from_dict(model, "A dull, lifeless film.", d, tokenizer=tokenizer,
                                               labels=TEXT_LABELS)  # fmt: skip
    assert values_equal(replayed.attribution.values, w.attribution.values)
    np.testing.assert_allclose(replayed.token_scores, w.token_scores, atol=1e-6)


def test_text_token_ablation_settings(minilm):
    tokenizer, model = minilm
    w = TextAttributionWidget(model, "The acting shone.", tokenizer=tokenizer, method="feature_ablation")
    d = json_round_trip(w.to_dict())
    ids, mask = torch.tensor(d["inputs"]["input_ids"]), torch.tensor(d["inputs"]["attention_mask"])
    again = aw.attribute(model, ids, forward_kwargs={"attention_mask": mask}, cache=False, **d["settings"])
    assert values_equal(again.values, w.attribution.values)


@pytest.mark.parametrize("method", ["saliency", "integrated_gradients", "feature_ablation"])
def test_tabular_settings_reproduce_the_feature_scores(table, method):
    model, names, _, x_test = table
    w = TabularAttributionWidget(model, x_test[0], feature_names=names, labels=TABLE_LABELS, method=method,
                                 n_steps=20)  # fmt: skip
    d = json_round_trip(w.to_dict())
    again = aw.attribute(model, x_test[0][None], cache=False, **d["settings"])
    assert values_equal(again.values, w.attribution.values)
    replayed = TabularAttributionWidget.from_dict(model, x_test[0], d, feature_names=names)
    np.testing.assert_array_equal(replayed.feature_scores, w.feature_scores)
    assert replayed.to_dict()["view"] == d["view"]


def test_the_mean_baseline_says_data_must_be_passed_again(table):
    model, names, x_train, x_test = table
    w = TabularAttributionWidget(model, x_test[0], data=x_train, baseline="mean")
    d = json_round_trip(w.to_dict())
    assert "data" not in d["settings"] and "pass data= again" in d["not_serialised"]["data"]
    again = aw.attribute(model, x_test[0][None], data=x_train, cache=False, **d["settings"])
    assert values_equal(again.values, w.attribution.values)
    replayed = TabularAttributionWidget.from_dict(model, x_test[0], d, data=x_train)
    np.testing.assert_array_equal(replayed.feature_scores, w.feature_scores)


def test_a_callable_output_is_named_not_written(cnn, digit):
    w = AttributionWidget(cnn, digit, method="saliency", output=lambda out: out)
    d = w.to_dict()
    assert "output" not in d["settings"] and "function" in d["not_serialised"]["output"]
    json.dumps(d)


def test_directions_give_their_own_constructor_settings(cnn, digits):
    data = digits[0][:40]
    w = DirectionsWidget(cnn, "0", data, k=3, example=2)
    w.offsets = [0.5, -1.0, 0.0]
    d = json_round_trip(w.to_dict())
    assert d["call"] == "DirectionsWidget"
    assert d["settings"] == {"layer": "0", "k": 3, "target": None, "example": 2}
    replayed = DirectionsWidget.from_dict(cnn, data, d)
    assert replayed.offsets == [0.5, -1.0, 0.0]
    assert replayed.outputs["f_after"] == pytest.approx(w.outputs["f_after"], abs=1e-6)
    assert d["figures"]["f_after"] == pytest.approx(w.outputs["f_after"])


def test_compare_gives_its_own_constructor_settings(cnn, digit):
    methods = ("saliency", "integrated_gradients", "occlusion")
    w = CompareWidget(cnn, digit, methods=methods, n_steps=8, target=3,
                      method_options={"occlusion": {"sliding_window_shapes": (1, 2, 2)}})  # fmt: skip
    d = json_round_trip(w.to_dict())
    assert d["call"] == "CompareWidget" and d["settings"]["methods"] == list(methods)
    assert d["settings"]["method_options"]["occlusion"] == {"sliding_window_shapes": [1, 2, 2]}
    replayed = CompareWidget.from_dict(cnn, digit, d)  # the JSON list is a window shape again
    assert replayed.method_errors == {} and set(replayed.maps) == set(methods)
    for name, values in w.maps.items():
        np.testing.assert_allclose(replayed.maps[name], values, atol=1e-6)
    assert d["figures"]["scale"] == pytest.approx(w.scale)


def test_bad_dicts_are_refused_clearly(cnn, digit, table):
    w = AttributionWidget(cnn, digit, method="saliency")
    d = w.to_dict()
    with pytest.raises(ValueError, match=r"written by AttributionWidget, not TabularAttributionWidget"):
        TabularAttributionWidget.from_dict(table[0], table[3][0], d)
    with pytest.raises(ValueError, match="settings version 99; this attr_widgets reads version 1"):
        AttributionWidget.from_dict(cnn, digit, {**d, "version": 99})
    with pytest.raises(ValueError, match="no 'controls' key"):
        AttributionWidget.from_dict(cnn, digit, {"widget": "AttributionWidget", "version": 1})
    with pytest.raises(TypeError, match=r"d must be a dict from AttributionWidget.to_dict\(\), got str"):
        AttributionWidget.from_dict(cnn, digit, "fig.json")
    with pytest.raises(ValueError, match="'colour' is not a control of AttributionWidget"):
        AttributionWidget.from_dict(cnn, digit, {**d, "controls": {**d["controls"], "colour": 1}})


def test_save_writes_json_and_html_and_names_the_valid_suffixes(cnn, digit, tmp_path):
    w = AttributionWidget(cnn, digit, method="saliency")
    path = w.save(tmp_path / "view.json")
    assert path == tmp_path / "view.json" and json.loads(path.read_text()) == w.to_dict()
    page = w.save(str(tmp_path / "view.html")).read_text()
    # nothing to load: no URL (base64 has no ':'), no <script src> or <link>, and a CSP that forbids loads
    assert "http://" not in page and "https://" not in page and "<link" not in page and " src=" not in page
    assert "default-src 'none'" in page
    with pytest.raises(ValueError, match=r"path='.*fig\.pdf': unknown suffix '\.pdf'; use one of \.png, \."):
        w.save(tmp_path / "fig.pdf")


def test_save_waits_for_a_computation_from_the_browser(cnn, digit, tmp_path):
    w = AttributionWidget(cnn, digit, method="saliency")
    w.set_state({"method": "integrated_gradients"})  # a change from the view: computed in the background
    d = json.loads(w.save(tmp_path / "view.json").read_text())
    assert d["settings"]["method"] == d["controls"]["method"] == "integrated_gradients"


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_save_png_and_svg_use_the_kernel_renderers(cnn, digit, tmp_path, suffix):
    render = pytest.importorskip("attr_widgets.widgets._render")  # provided by the renderers' branch
    w = AttributionWidget(cnn, digit, method="saliency")
    path = w.save(tmp_path / f"fig{suffix}")
    expected = render.png_of(w) if suffix == ".png" else render.svg_of(w)
    if suffix == ".png":
        assert path.read_bytes() == expected and expected.startswith(b"\x89PNG")
    else:
        assert path.read_text() == expected and "<svg" in expected


def test_a_failed_result_is_saved_as_the_view_shows_it(cnn, digit, tmp_path):
    model = Switchable(cnn)
    w = AttributionWidget(model, digit, method="saliency")
    model.fail = True
    with pytest.raises(RuntimeError, match="injected failure"):
        w.method = "integrated_gradients"
    d = json.loads(w.save(tmp_path / "failed.json").read_text())
    assert "injected failure" in d["figures"]["error"] and d["controls"]["method"] == "integrated_gradients"
    page = w.save(tmp_path / "failed.html").read_text()
    state = json.loads(page.split('id="aw-state">')[1].split("</script>")[0])
    assert "injected failure" in state["state"]["result"]["error"]


@pytest.mark.skipif(
    importlib.util.find_spec("attr_widgets.widgets._render") is not None, reason="the renderers are installed"
)
@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_save_png_and_svg_without_the_renderers_says_so(cnn, digit, tmp_path, suffix):
    w = AttributionWidget(cnn, digit, method="saliency")
    with pytest.raises(NotImplementedError, match=r"kernel-side renderers .* save to \.html or \.json"):
        w.save(tmp_path / f"fig{suffix}")
    assert not (tmp_path / f"fig{suffix}").exists()
