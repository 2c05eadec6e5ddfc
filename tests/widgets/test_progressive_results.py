"""Progressive Integrated Gradients in the image widget: a coarse result first, then the requested steps.

The coarse result is the engine's IG with COARSE_STEPS nodes (the same rule), published as a preliminary
result of the same request; the final one replaces it; an older request never publishes over a newer one.
"""

import numpy as np
import pytest
from widget_test_models import Switchable

from attr_widgets.attribution import attribute
from attr_widgets.widgets import AttributionWidget
from attr_widgets.widgets import _attribution_widget as image_widget
from attr_widgets.widgets._serialize import channel_sum, unpack


@pytest.fixture
def always_progressive(monkeypatch):
    """Show the coarse result however fast the model (the tests' models take milliseconds)."""
    monkeypatch.setattr(image_widget, "PROGRESSIVE_AFTER_S", 0.0)


def heatmap_of(result) -> np.ndarray:
    return unpack(result["heatmap"])


def test_a_coarse_result_comes_first_and_the_final_one_replaces_it(cnn, digit, always_progressive):
    w = AttributionWidget(cnn, digit, method="saliency", target=2)
    seen = []
    w.observe(lambda change: seen.append(change["new"]), "result")
    w.method = "integrated_gradients"  # n_steps 50 by default
    assert [r.get("preliminary", False) for r in seen] == [True, False]
    coarse, final = seen
    assert coarse["seq"] == final["seq"] == w.request_seq
    assert coarse["controls"] == final["controls"]
    assert coarse["steps_taken"] == image_widget.COARSE_STEPS and final["steps_taken"] == w.n_steps
    settings = dict(method="integrated_gradients", target=2, baseline=w.baseline)
    for result, steps in ((coarse, image_widget.COARSE_STEPS), (final, w.n_steps)):
        expected = channel_sum(attribute(cnn, digit[None], n_steps=steps, **settings).values)
        np.testing.assert_allclose(heatmap_of(result), expected, rtol=1e-5, atol=1e-7)
    assert w.attribution.n_steps == w.n_steps  # Python sees only the final result


def test_fast_models_and_other_methods_show_one_result(cnn, digit):
    w = AttributionWidget(cnn, digit, method="saliency")
    seen = []
    w.observe(lambda change: seen.append(change["new"]), "result")
    w.method = "integrated_gradients"  # the digits CNN takes milliseconds: no preliminary result
    w.method = "input_x_gradient"
    assert [r.get("preliminary", False) for r in seen] == [False, False]


def test_few_steps_are_not_split(cnn, digit, always_progressive):
    w = AttributionWidget(cnn, digit, method="integrated_gradients", n_steps=8)
    seen = []
    w.observe(lambda change: seen.append(change["new"]), "result")
    w.n_steps = 6  # at most twice the coarse steps: the coarse result would not be worth its cost
    assert [r.get("preliminary", False) for r in seen] == [False]


def test_the_progress_total_covers_both_runs(cnn, digit, always_progressive):
    w = AttributionWidget(cnn, digit, method="saliency")
    reports = []
    w.observe(lambda change: reports.append(change["new"]), "activity")
    w.method = "integrated_gradients"
    # Progress reports (if the run lasted past 100 ms) and the final idle state, which carries the units.
    units = [(a["done"], a["total"]) for a in reports if a["state"] in ("computing", "idle") and a["total"]]
    assert reports[-1]["state"] == "idle", reports
    done = [d for d, _ in units]
    assert done == sorted(done)  # the bar never moves back between the coarse and the final run
    assert units[-1][0] == units[-1][1] >= 1 + image_widget.COARSE_STEPS + w.n_steps


def test_a_preliminary_result_never_replaces_a_newer_request(cnn, digit, always_progressive):
    model = Switchable(cnn)
    w = AttributionWidget(model, digit, method="saliency")
    model.gate.clear()
    model.entered.clear()
    w.set_state({"method": "integrated_gradients"})  # request 2 blocks inside its first forward
    assert model.entered.wait(10)
    w.set_state({"target": (w.target + 1) % 10})  # request 3 arrives while 2 is computing
    published = []
    w.observe(lambda c: published.append((c["new"]["seq"], c["new"].get("preliminary"))), "result")
    model.gate.set()
    w.wait()
    assert all(seq == 3 for seq, _ in published), published
    assert published[-1] == (3, None) or published[-1] == (3, False)
    assert w.result["target"] == w.target and not w.result.get("preliminary")


def test_a_cancel_puts_the_last_final_result_back(cnn, digit, always_progressive):
    w = AttributionWidget(cnn, digit, method="saliency")
    before = w.result
    w.observe(lambda change: w.cancel() if change["new"].get("preliminary") else None, "result")
    w.method = "integrated_gradients"  # cancelled as soon as its coarse result shows
    assert w.activity["state"] == "cancelled"
    assert w.result == before and w.attribution.method == "saliency"
