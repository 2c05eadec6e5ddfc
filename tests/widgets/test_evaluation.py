"""The evaluation panel: w.evaluate(...) returns and shows exactly what the engine's own functions compute."""

import threading

import numpy as np
import pytest
import scipy.stats
import torch

from attr_widgets import AttributionWidget
from attr_widgets._torch import model_lock
from attr_widgets.attribution import check_axioms, convergence
from attr_widgets.attribution.metrics import (
    Curve,
    deletion_curve,
    infidelity,
    insertion_curve,
    model_randomization_check,
    sensitivity_max,
)
from attr_widgets.widgets import _cells
from attr_widgets.widgets._serialize import unpack

STEPS = 8  # integration steps for these tests: the identities hold at any n_steps


@pytest.fixture
def widget(cnn, digit):
    return AttributionWidget(cnn, digit, n_steps=STEPS)


def _pixel_map(w):
    return w.attribution.values.sum(1, keepdim=True)


def _target(w):
    return int(w.attribution.target[0])


def test_curves_equal_the_engine_and_the_order_marks_the_top_pixels(widget):
    got = widget.evaluate(("deletion", "insertion"))
    x, target = widget.inputs, _target(widget)
    cases = (("deletion", deletion_curve, "zeros"), ("insertion", insertion_curve, "blur"))
    for name, function, baseline in cases:
        expected = function(widget.model, x, _pixel_map(widget), target=target, baseline=baseline, steps=50)
        assert isinstance(got[name], Curve)
        torch.testing.assert_close(got[name].scores, expected.scores, rtol=0, atol=0)
        torch.testing.assert_close(got[name].auc, expected.auc, rtol=0, atol=0)
        shown = widget.evaluation_figures["figures"][name]
        assert shown["scores"] == expected.scores[0].tolist() and shown["auc"] == float(expected.auc[0])
        assert len(shown["fractions"]) == 51
        # The random-order reference is the same engine function on a seeded random ranking.
        random_map = torch.rand(_pixel_map(widget).shape, generator=torch.Generator().manual_seed(0))
        reference = function(widget.model, x, random_map, target=target, baseline=baseline, steps=50)
        assert shown["random_scores"] == reference.scores[0].tolist()
    # The hover mask: the first counts[i] pixels of `order` are the counts[i] largest of the heatmap (numpy).
    shown = widget.evaluation_figures["figures"]["deletion"]
    heat = widget.heatmap.ravel()
    assert shown["order"] == np.argsort(-heat.astype(np.float64), kind="stable").tolist()
    assert shown["counts"][-1] == heat.size and shown["counts"][0] == 0


def test_deleting_in_attribution_order_matches_scoring_masked_images_by_hand(widget):
    figure = widget.evaluate("deletion")["deletion"]
    shown = widget.evaluation_figures["figures"]["deletion"]
    k = 5  # a point in the middle: remove the top counts[k] pixels by hand, softmax of the target
    x = widget.inputs.clone()
    flat = x.view(-1)
    flat[shown["order"][: shown["counts"][k]]] = 0.0
    with torch.no_grad():
        p = torch.softmax(widget.model(x).double(), 1)[0, _target(widget)]
    assert float(figure.scores[0, k]) == pytest.approx(float(p), abs=1e-6)


def test_convergence_equals_the_engine(widget):
    got = widget.evaluate("convergence")["convergence"]
    expected = convergence(widget.model, widget.inputs, method="integrated_gradients", target=_target(widget),
                           baseline="zeros")  # fmt: skip
    assert got == expected
    shown = widget.evaluation_figures["figures"]["convergence"]
    assert shown["rules"] == expected and shown["current"] == {"rule": "gausslegendre", "n_steps": STEPS}


def test_convergence_is_not_applicable_to_a_method_without_a_quadrature(widget):
    widget.method = "saliency"
    assert widget.evaluate("convergence")["convergence"] is None
    assert widget.evaluation_figures["figures"]["convergence"]["applicable"] is False


def test_sanity_equals_the_engine_and_thumbnails_are_the_randomised_maps(widget):
    got = widget.evaluate("sanity")["sanity"]
    expected = model_randomization_check(
        widget.model, widget.inputs, method="integrated_gradients", target=_target(widget), baseline="zeros",
        n_steps=STEPS, seed=0,
    )  # fmt: skip
    assert got.layers == expected.layers
    torch.testing.assert_close(got.spearman, expected.spearman, rtol=0, atol=0)
    torch.testing.assert_close(got.spearman_abs, expected.spearman_abs, rtol=0, atol=0)
    shown = widget.evaluation_figures["figures"]["sanity"]
    assert shown["layers"] == list(expected.layers)
    # Each thumbnail's rank correlation with the original map, by scipy, is the reported one.
    original = got.original.sum(1).ravel().numpy()
    for i, packed in enumerate(shown["maps"]):
        thumb = unpack(packed).astype(np.float64).ravel()
        rho = scipy.stats.spearmanr(np.abs(original), np.abs(thumb)).statistic
        assert rho == pytest.approx(shown["spearman_abs"][i], abs=1e-6)
    assert shown["survives"] == (abs(shown["spearman_abs"][-1]) > shown["threshold"])


def test_axioms_equal_check_axioms(widget):
    got = widget.evaluate("axioms")["axioms"]
    expected = check_axioms(
        widget.model, widget.inputs, method="integrated_gradients", target=_target(widget),
        baseline=torch.zeros(1, 8, 8), n_steps=STEPS, seed=0,
    )  # fmt: skip
    assert got.to_dict() == expected.to_dict()
    rows = widget.evaluation_figures["figures"]["axioms"]["rows"]
    assert [r["axiom"] for r in rows] == list(expected.checks)
    assert [r["passed"] for r in rows] == [c.passed for c in expected.checks.values()]
    assert all(r["theory"] is True for r in rows)  # Integrated Gradients satisfies all six in theory


def test_infidelity_and_sensitivity_equal_the_engine(widget):
    got = widget.evaluate(("infidelity", "sensitivity"))
    target = _target(widget)
    fidelity = infidelity(widget.model, widget.inputs, widget.attribution.values, target=target, seed=0)
    torch.testing.assert_close(got["infidelity"], fidelity)
    expected = sensitivity_max(
        widget.model, widget.inputs, method="integrated_gradients", target=target, seed=0, baseline="zeros",
        n_steps=STEPS,
    )  # fmt: skip
    torch.testing.assert_close(got["sensitivity"], expected)
    assert widget.evaluation_figures["figures"]["sensitivity"]["value"] == pytest.approx(float(expected[0]))


def test_results_are_cached_per_settings_and_the_panel_keeps_known_figures(widget):
    first = widget.evaluate(("deletion", "sanity"))
    computed = widget._evaluator.computed
    again = widget.evaluate("sanity")
    assert again["sanity"] is first["sanity"] and widget._evaluator.computed == computed
    assert set(widget.evaluation_figures["figures"]) == {"deletion", "sanity"}  # the cached deletion too
    widget.n_steps = STEPS + 1
    other = widget.evaluate("sanity")
    assert other["sanity"] is not first["sanity"] and widget._evaluator.computed == computed + 1
    assert set(widget.evaluation_figures["figures"]) == {"sanity"}
    assert widget.evaluation_figures["controls"]["n_steps"] == STEPS + 1


def test_evaluation_leaves_the_main_request_and_the_model_alone(widget):
    model = widget.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seq, result = widget.request_seq, widget.result
    widget.evaluate()
    assert widget.request_seq == seq and widget.result is result and widget.activity["state"] == "idle"
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.training and all(p.requires_grad for p in model.parameters())
    assert all(not (m._forward_hooks or m._forward_pre_hooks or m._backward_hooks) for m in model.modules())


def test_a_job_from_the_view_runs_in_the_background_and_can_be_cancelled(widget):
    widget._on_view_message(widget, {"type": "evaluate", "what": ["deletion"]}, [])
    assert widget._wait_workers(30)
    assert widget.evaluation["state"] == "idle" and "deletion" in widget.evaluation_figures["figures"]
    # Hold the model: the job waits at its first figure; the cancel stops it at its first model call.
    with model_lock(widget.model):
        widget._on_view_message(widget, {"type": "evaluate", "what": ["sanity", "axioms"]}, [])
        assert widget.busy
        widget._on_view_message(widget, {"type": "evaluate_cancel"}, [])
    assert widget._wait_workers(30)
    assert widget.evaluation["state"] == "cancelled"
    shown = widget.evaluation_figures["figures"]
    assert "sanity" not in shown and "deletion" in shown
    assert not widget.busy
    assert widget.evaluate("sanity")["sanity"].layers  # runs again afterwards


def test_a_cell_waits_for_an_evaluation_from_the_view_and_cancel_stops_it(widget):
    held, release = threading.Event(), threading.Event()

    def hold_the_model():  # another thread holds the model for a moment: the job waits for it
        with model_lock(widget.model):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_model)
    holder.start()
    held.wait(10)
    widget._on_view_message(widget, {"type": "evaluate", "what": ["sanity"]}, [])
    assert widget in _cells.busy_widgets()
    threading.Timer(0.2, release.set).start()
    _cells.wait_before_cell()  # what IPython calls before the user's next cell
    holder.join(10)
    assert not widget.busy and widget.evaluation["state"] == "idle"
    with model_lock(widget.model):
        widget._on_view_message(widget, {"type": "evaluate", "what": ["axioms"]}, [])
        widget.cancel()  # the cancel button, w.cancel() and a kernel interrupt all reach the evaluation
    assert widget._wait_workers(30) and widget.evaluation["state"] == "cancelled"


def test_bad_what_is_named_with_the_nearest_name(widget):
    with pytest.raises(ValueError, match="what.*empty"):
        widget.evaluate(())
    with pytest.raises(ValueError, match="deletion"):
        widget.evaluate("delition")
    widget._on_view_message(widget, {"type": "evaluate", "what": ["nope"]}, [])
    assert "what" in widget.notice


def test_nothing_to_evaluate_after_a_failed_request(widget):
    class Boom(Exception):
        pass

    def fail(*args, **kwargs):
        raise Boom("no")

    widget._compute = fail
    with pytest.raises(Boom):
        widget.method = "saliency"
    with pytest.raises(ValueError, match="no attribution on screen"):
        widget.evaluate("deletion")
