"""The shared widget core: progress, cancel, the wait before a cell, concurrency on one model, the RNG."""

import threading
import time

import pytest
import torch
from torch import nn
from widget_test_models import Switchable

from attr_widgets.attribution import attribute, hook_counts
from attr_widgets.widgets import AttributionWidget
from attr_widgets.widgets._cells import wait_before_cell
from attr_widgets.widgets._requests import Cancelled


class Slow(nn.Module):
    """Sleeps ``delay`` seconds per forward call (a model whose chunk takes a known time)."""

    def __init__(self, inner: nn.Module, delay: float) -> None:
        super().__init__()
        self.inner = inner
        self.delay = delay
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        time.sleep(self.delay)
        return self.inner(x)


def blocked_browser_change(cnn, digit):
    """A widget whose browser-started recompute (saliency → input × gradient) is held inside the model."""
    model = Switchable(cnn)
    w = AttributionWidget(model, digit, method="saliency")
    model.gate.clear()
    model.entered.clear()
    w.set_state({"method": "input_x_gradient"})
    assert model.entered.wait(10)
    return model, w


def test_progress_reaches_every_row_and_ends_idle(cnn, digit):
    model = Slow(cnn, delay=0.0)
    w = AttributionWidget(model, digit, method="saliency", internal_batch_size=4)
    seen = []
    w.observe(lambda change: seen.append(dict(change["new"])), "activity")
    model.delay = 0.03  # 5 chunks of 4 rows: over the 100 ms after which progress is reported
    w.n_steps = 16
    w.method = "integrated_gradients"
    computing = [a for a in seen if a["state"] == "computing" and a["total"] > 0]
    assert computing, seen
    done = [a["done"] for a in computing]
    assert done == sorted(done) and all(a["done"] <= a["total"] for a in computing)
    # The idle state that comes with the result holds the request's units: every row, counted once.
    assert seen[-1]["state"] == "idle" and seen[-1]["seq"] == w.request_seq
    assert seen[-1]["done"] == seen[-1]["total"] == computing[-1]["total"] >= 16


def test_a_quick_computation_sends_no_progress_message(cnn, digit):
    w = AttributionWidget(cnn, digit, method="saliency")
    seen = []
    w.observe(lambda change: seen.append(dict(change["new"])), "activity")
    w.set_state({"target": (w.target + 1) % 10})
    assert w.wait() is None
    # One "computing" (sent with the new request number), then "idle" with the result: nothing between.
    assert [a["state"] for a in seen] == ["computing", "idle"], seen
    assert seen[-1]["done"] == seen[-1]["total"] >= 1


def test_cancel_stops_a_browser_recompute_within_a_second(cnn, digit):
    model = Slow(cnn, delay=0.0)
    w = AttributionWidget(model, digit, method="saliency", n_steps=400, internal_batch_size=8)
    model.delay = 0.2  # each model call (one chunk of 8 rows) takes 0.2 s from now on
    w.set_state({"method": "integrated_gradients"})
    time.sleep(0.3)
    assert w.busy
    start = time.perf_counter()
    w.cancel()
    with pytest.raises(Cancelled):
        w.wait(10)
    assert time.perf_counter() - start < 1.0
    assert w.activity["state"] == "cancelled"
    assert w.result["method"] == "saliency" and w.attribution is not None  # the last good result stays
    assert all(v == 0 for v in hook_counts(model).values())
    model.delay = 0.0
    w.recompute()
    assert w.result["method"] == "integrated_gradients" and w.activity["state"] == "idle"


def test_a_cancel_message_from_the_view_cancels(cnn, digit):
    model, w = blocked_browser_change(cnn, digit)
    w._on_view_message(w, {"type": "cancel"}, [])
    model.gate.set()
    with pytest.raises(Cancelled):
        w.wait(10)
    assert w.result["method"] == "saliency"


def test_a_keyboard_interrupt_in_the_worker_is_published_and_raised(cnn, digit):
    class Interrupting(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = cnn
            self.interrupt = False

        def forward(self, x):
            if self.interrupt:
                raise KeyboardInterrupt
            return self.inner(x)

    model = Interrupting()
    w = AttributionWidget(model, digit, method="saliency")
    model.interrupt = True
    w.set_state({"method": "input_x_gradient"})
    with pytest.raises(KeyboardInterrupt):
        w.wait(10)
    assert w.result["error"].startswith("KeyboardInterrupt")


def test_a_cell_waits_for_the_browser_recompute(cnn, digit, capsys, monkeypatch):
    monkeypatch.setattr("attr_widgets.widgets._cells.WAIT_NOTICE_S", 0.05)
    model, w = blocked_browser_change(cnn, digit)
    threading.Timer(0.3, model.gate.set).start()
    wait_before_cell()  # what IPython runs before the next cell
    assert not w.busy and w.result["method"] == "input_x_gradient"
    assert "waiting for a widget's recompute" in capsys.readouterr().out


def test_browser_recompute_then_user_training_leaves_what_the_user_made(digit):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 10)
    ).eval()
    w = AttributionWidget(model, digit, method="saliency", n_steps=64)
    w.set_state({"method": "integrated_gradients"})  # from the browser: on the worker
    wait_before_cell()  # the next cell waits for it
    # The user's cell: train one step.
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = model(torch.rand(8, 1, 8, 8)).logsumexp(1).mean()
    loss.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    stats = model[1].running_mean.clone()
    before = [p.detach().clone() for p in model.parameters()]
    opt.step()
    assert model.training and all(m.training for m in model.modules())
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads, strict=True))
    for p, b, g in zip(model.parameters(), before, grads, strict=True):  # the step did what SGD does
        torch.testing.assert_close(p.detach(), b - 0.1 * g)
    assert torch.equal(model[1].running_mean, stats)
    assert all(p.requires_grad for p in model.parameters())


def test_two_widgets_on_one_model_from_the_browser_never_interleave(cnn, digits):
    x, _ = digits
    a = AttributionWidget(cnn, x[0], method="saliency")
    b = AttributionWidget(cnn, x[1], method="saliency")
    for trial in range(20):
        target = trial % 10
        a.set_state({"method": "guided_backprop" if trial % 2 else "deeplift", "target": target})
        b.set_state({"method": "saliency", "target": (target + 3) % 10})
        a.wait(30)
        b.wait(30)
        for w in (a, b):
            expected = attribute(cnn, w.inputs, method=w.method, target=w.target, cache=False).values
            torch.testing.assert_close(w.attribution.values, expected)
        assert all(v == 0 for v in hook_counts(cnn).values())
        for module in cnn.modules():
            assert not hasattr(module, "input") and not hasattr(module, "output")


def test_smoothgrad_in_a_widget_leaves_the_global_rng_stream_alone(cnn, digit):
    w = AttributionWidget(cnn, digit, method="saliency", methods=["saliency", "smoothgrad"])
    torch.manual_seed(123)
    expected = torch.rand(5)
    torch.manual_seed(123)
    w.set_state({"method": "smoothgrad"})
    w.wait(30)
    assert torch.equal(torch.rand(5), expected)


def test_the_completeness_ratio_is_withheld_when_f_x_is_close_to_f_b():
    from attr_widgets.attribution import Attribution
    from attr_widgets.widgets._completeness import completeness

    def figures(fx, fb, delta):
        a = Attribution(
            values=torch.zeros(1, 2),
            delta=torch.tensor([delta]),
            outputs=torch.tensor([fx]),
            baseline_outputs=torch.tensor([fb]),
            method="integrated_gradients",
            target=torch.tensor([0]),
            baseline="zeros",
            n_steps=50,
            integration="gausslegendre",
        )
        return completeness(a)

    clear = figures(3.0, 1.0, 0.01)
    assert clear["relative"] == pytest.approx(0.005) and clear["gap"] == pytest.approx(2.0)
    noise = figures(2.0001, 2.0, 5e-4)  # a "507 %" ratio on a gap of 1e-4: not a verdict
    assert noise["relative"] is None and noise["delta"] == pytest.approx(5e-4)
