"""CompareWidget.evaluate: the AttributionWidget's evaluation figures for every map on screen.

Each figure equals the engine's own function on that map with that method's options (Grad-CAM's layer), the
view gets them nested per method, results are cached per settings, and bad requests are named.
"""

import pytest
import torch

from attr_widgets.attribution.metrics import deletion_curve, insertion_curve, model_randomization_check
from attr_widgets.widgets import CompareWidget

METHODS = ("saliency", "integrated_gradients", "grad_cam")
STEPS = 8


@pytest.fixture
def compare(cnn, digit):
    c = CompareWidget(cnn, digit, methods=METHODS, n_steps=STEPS)
    c.wait()
    return c


def pixel_map(c, method):
    return c.attributions[method].values.detach().sum(dim=1, keepdim=True)


def test_curves_of_every_map_equal_the_engine_and_the_view_gets_them_per_method(compare):
    got = compare.evaluate(("deletion", "insertion"))
    assert list(got) == list(METHODS)
    target = compare.target
    for method in METHODS:
        cases = (("deletion", deletion_curve, "zeros"), ("insertion", insertion_curve, "blur"))
        for name, function, baseline in cases:
            expected = function(compare._model, compare.inputs, pixel_map(compare, method), target=target,
                                baseline=baseline, steps=50)  # fmt: skip
            torch.testing.assert_close(got[method][name].scores, expected.scores, rtol=0, atol=0)
            shown = compare.evaluation_figures["figures"][method][name]
            assert shown["auc"] == float(expected.auc[0])
    assert compare.evaluation["state"] == "idle" and compare.evaluation["total"] == 2 * len(METHODS)
    assert compare.evaluation_figures["controls"] == dict(compare.result["controls"])
    # Different maps, different curves: the figures are per method, not one copied.
    aucs = {m: compare.evaluation_figures["figures"][m]["deletion"]["auc"] for m in METHODS}
    assert len(set(aucs.values())) == len(METHODS), aucs


def test_sanity_uses_each_methods_own_options_and_is_cached(compare):
    got = compare.evaluate("sanity", methods=["grad_cam"])
    assert list(got) == ["grad_cam"]
    layer = compare._plans[METHODS.index("grad_cam")].kwargs["layer"]
    expected = model_randomization_check(
        compare._model, compare.inputs, method="grad_cam", layer=layer, target=compare.target, seed=0,
        baseline="zeros", n_steps=STEPS,
    )  # fmt: skip
    torch.testing.assert_close(got["grad_cam"]["sanity"].spearman_abs, expected.spearman_abs, rtol=0, atol=0)
    computed = compare._evaluator.computed
    again = compare.evaluate("sanity", methods=["grad_cam"])
    assert again["grad_cam"]["sanity"] is got["grad_cam"]["sanity"]
    assert compare._evaluator.computed == computed
    # the view shows every figure known for these settings: the curves computed before stay
    compare.evaluate("deletion", methods=["saliency"])
    figures = compare.evaluation_figures["figures"]
    assert "sanity" in figures["grad_cam"] and "deletion" in figures["saliency"]


def test_bad_requests_are_named(compare, cnn):
    with pytest.raises(ValueError, match="methods='salency' is not known. Did you mean 'saliency'"):
        compare.evaluate(methods=["salency"])
    with pytest.raises(ValueError, match="what="):
        compare.evaluate(("deletoin",))
    with pytest.raises(ValueError, match="empty"):
        compare.evaluate(())


def test_a_row_input_has_no_pixel_curves():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3)).eval()
    c = CompareWidget(model, torch.randn(4), methods=("saliency", "input_x_gradient"))
    c.wait()
    with pytest.raises(ValueError, match="need an image input"):
        c.evaluate()


def test_evaluation_chart_is_an_altair_chart_of_the_curves_on_screen(compare, cnn, digit):
    import altair as alt  # a test dependency: the chart is checked as data, not skipped

    from attr_widgets.widgets import AttributionWidget

    with pytest.raises(ValueError, match="run w.evaluate"):
        compare.evaluation_chart()
    compare.evaluate(("deletion", "insertion"), methods=["saliency", "grad_cam"])
    spec = compare.evaluation_chart().to_dict()
    assert "RISE" in str(spec["title"])
    rows = spec["data"]["values"]
    shown = compare.evaluation_figures["figures"]
    for method in ("saliency", "grad_cam"):
        for curve in ("deletion", "insertion"):
            line = [r["score"] for r in rows if r["series"] == method and r["curve"] == curve]
            assert line == shown[method][curve]["scores"]
    assert {r["series"] for r in rows} == {"saliency", "grad_cam", "random order"}
    # the AttributionWidget's chart: its attribution order against the random order
    w = AttributionWidget(cnn, digit, method="saliency")
    w.evaluate("deletion")
    rows = w.evaluation_chart().to_dict()["data"]["values"]
    assert [r["score"] for r in rows if r["series"] == "attribution order"] == (
        w.evaluation_figures["figures"]["deletion"]["scores"]
    )
    assert isinstance(w.evaluation_chart(), alt.TopLevelMixin)
