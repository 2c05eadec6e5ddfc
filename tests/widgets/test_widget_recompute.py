"""Recomputation: Python assignments, the browser's changes (set_state), sequence numbers, errors."""

import logging
import threading

import numpy as np
import pytest
import torch
from widget_test_models import Switchable

from attr_widgets.attribution import attribute
from attr_widgets.widgets import AttributionWidget
from attr_widgets.widgets._serialize import channel_sum


def expected_heatmap(model, x, **kwargs):
    return channel_sum(attribute(model, x[None], **kwargs).values)


@pytest.mark.parametrize(
    ("trait", "value"),
    [("method", "saliency"), ("target", 7), ("baseline", "blur"), ("n_steps", 12)],
)
def test_python_assignment_recomputes_before_returning(cnn, digit, trait, value):
    w = AttributionWidget(cnn, digit, target=1)
    before = w.heatmap.copy()
    setattr(w, trait, value)
    assert w.request_seq == 2 and w.result["seq"] == 2
    assert w.result[trait] == value
    settings = {"method": w.method, "target": w.target, "baseline": w.baseline, "n_steps": w.n_steps}
    np.testing.assert_allclose(w.heatmap, expected_heatmap(cnn, digit, **settings), rtol=1e-5, atol=1e-7)
    assert not np.allclose(w.heatmap, before)


def test_view_only_controls_do_not_recompute(cnn, digit):
    w = AttributionWidget(cnn, digit)
    w.opacity = 0.2
    w.sign_mode = "absolute"
    w.outlier_percent = 0.0
    assert w.request_seq == 1


def test_every_method_in_the_selector_runs(cnn, digit):
    w = AttributionWidget(cnn, digit)
    for entry in w.options["methods"]:
        w.method = entry["value"]
        assert w.result["error"] is None, entry
        assert np.isfinite(w.heatmap).all()
        assert (w.result["completeness"] is not None) == entry["completeness"], entry


def test_every_baseline_runs(cnn, digit):
    w = AttributionWidget(cnn, digit)
    for name in ("blur", "uniform", "zeros"):
        w.baseline = name
        assert w.result["baseline"] == name and w.result["error"] is None


def test_browser_change_recomputes_in_the_background(cnn, digit):
    w = AttributionWidget(cnn, digit)
    w.set_state({"method": "input_x_gradient"})
    w.wait()
    assert w.method == "input_x_gradient"
    assert w.result["seq"] == w.request_seq == 2
    expected = expected_heatmap(cnn, digit, method="input_x_gradient", target=w.target)
    np.testing.assert_allclose(w.heatmap, expected)


def test_a_burst_of_browser_changes_computes_only_the_newest(cnn, digit):
    model = Switchable(cnn)
    w = AttributionWidget(model, digit, method="saliency")
    computed = []
    original = w._compute
    w._compute = lambda request, progress: computed.append(request.seq) or original(request, progress)
    model.gate.clear()  # the first background request blocks inside the model until all are sent
    model.entered.clear()
    w.set_state({"n_steps": 5})
    w.set_state({"method": "integrated_gradients"})
    for steps in range(6, 30):
        w.set_state({"n_steps": steps})
    model.gate.set()
    w.wait()
    assert w.result["seq"] == w.request_seq == 27
    assert w.result["method"] == "integrated_gradients" and w.result["n_steps"] == 29
    assert computed[-1] == 27 and len(computed) <= 2  # the one already running (if any) and the newest


def test_a_result_overtaken_while_computing_is_dropped(cnn, digit):
    model = Switchable(cnn)
    w = AttributionWidget(model, digit, method="saliency")
    model.gate.clear()
    model.entered.clear()
    w.set_state({"method": "input_x_gradient"})  # request 2: starts and blocks inside forward
    assert model.entered.wait(10)
    w.set_state({"target": (w.target + 1) % 10})  # request 3 arrives while 2 is computing
    published = []
    w.observe(lambda change: published.append(change["new"]["seq"]), "result")
    model.gate.set()
    w.wait()
    assert w.dropped == 1
    assert published == [3]
    assert w.result["method"] == "input_x_gradient" and w.result["target"] == w.target


def test_python_assignment_while_the_browser_computes_wins(cnn, digit):
    model = Switchable(cnn)
    w = AttributionWidget(model, digit, method="saliency")
    model.gate.clear()
    model.entered.clear()
    w.set_state({"method": "input_x_gradient"})
    assert model.entered.wait(10)
    threading.Timer(0.2, model.gate.set).start()
    w.method = "integrated_gradients"  # waits for the model to be free, then computes synchronously
    w.wait()
    assert w.result["method"] == "integrated_gradients" and w.result["seq"] == w.request_seq == 3


def test_a_failure_in_the_background_shows_in_the_view_and_raises_from_wait(cnn, digit, caplog):
    model = Switchable(cnn)
    w = AttributionWidget(model, digit)
    model.fail = True
    with caplog.at_level(logging.WARNING, logger="attr_widgets"):
        w.set_state({"method": "saliency"})
        with pytest.raises(RuntimeError, match="injected failure inside forward"):
            w.wait()
    assert w.result["error"].startswith("RuntimeError: injected failure")
    assert w.result["heatmap"] is None and w.heatmap is None and w.attribution is None
    assert isinstance(w.error, RuntimeError)
    assert "request 2 failed: RuntimeError: injected failure" in caplog.text
    model.fail = False
    w.set_state({"method": "input_x_gradient"})
    w.wait()
    assert w.error is None and w.result["error"] is None and w.heatmap is not None


def test_a_failure_from_python_raises_at_the_assignment(cnn, digit):
    model = Switchable(cnn)
    w = AttributionWidget(model, digit)
    model.fail = True
    with pytest.raises(RuntimeError, match="injected failure"):
        w.method = "saliency"
    assert w.result["error"].startswith("RuntimeError") and w.result["seq"] == w.request_seq


def test_a_rejected_browser_value_is_reverted_and_explained(cnn, digit, caplog):
    w = AttributionWidget(cnn, digit, target=2)
    with caplog.at_level(logging.WARNING, logger="attr_widgets"):
        w.set_state({"target": 10})  # the view's "any class" box allows any number
    assert w.target == 2
    assert "target 10 is out of range" in w.notice
    assert "rejected a change from the view" in caplog.text
    w.wait()
    # The view waits for a new request number after every compute change it sends: it must get one.
    assert w.request_seq == 2 and w.result["seq"] == 2 and w.result["target"] == 2
    assert "target 10" in w.notice  # still shown after that recomputation
    w.method = "saliency"
    assert w.notice == ""  # an accepted change clears it


def test_a_rejected_python_value_raises_and_shows_in_the_view(cnn, digit):
    w = AttributionWidget(cnn, digit, target=2)
    with pytest.raises(ValueError, match="target 12 is out of range"):
        w.target = 12
    assert w.target == 2 and "target 12 is out of range" in w.notice and w.request_seq == 1


def test_an_unchanged_browser_value_still_answers(cnn, digit):
    w = AttributionWidget(cnn, digit)
    w.set_state({"method": w.method})
    w.wait()
    assert w.request_seq == 2 and w.result["seq"] == 2


def test_new_inputs_update_image_predictions_and_heatmap(cnn, digits):
    x, _ = digits
    w = AttributionWidget(cnn, x[0])
    old_image = bytes(w.image["view"])
    w.inputs = x[1]
    top = int(cnn(x[1][None]).argmax())
    assert w.target == top and w.top_k[0]["index"] == top
    assert bytes(w.image["view"]) != old_image
    assert w.request_seq == 2 and w.result["seq"] == 2
    np.testing.assert_allclose(w.heatmap, expected_heatmap(cnn, x[1], method=w.method, target=top), rtol=1e-5)


def test_a_chosen_target_stays_when_inputs_change(cnn, digits):
    x, _ = digits
    w = AttributionWidget(cnn, x[0], target=5)
    w.inputs = x[1]
    assert w.target == 5


def test_inputs_the_model_cannot_take_are_rejected_and_shown(cnn, digit):
    w = AttributionWidget(cnn, digit)
    message = r"(?s)inputs: the model raised.*expects 1 channel\(s\) but inputs has 3"
    with pytest.raises(ValueError, match=message):
        w.inputs = torch.rand(3, 8, 8)
    assert w.inputs.shape == (1, 1, 8, 8) and w.request_seq == 1
    assert "expects 1 channel(s)" in w.notice
    with pytest.raises(ValueError, match="NaN or Inf"):
        w.inputs = torch.full((1, 8, 8), float("inf"))
    assert "NaN or Inf" in w.notice


def test_wait_returns_at_once_when_idle(cnn, digit):
    w = AttributionWidget(cnn, digit)
    assert not w.busy
    w.wait(timeout=0)


def test_sequence_numbers_increase_with_every_request(cnn, digit):
    w = AttributionWidget(cnn, digit)
    seqs = []
    w.observe(lambda change: seqs.append(change["new"]), "request_seq")
    w.method = "saliency"
    w.set_state({"target": 3})
    w.wait()
    w.baseline = "blur"
    assert seqs == [2, 3, 4] and w.result["seq"] == 4
