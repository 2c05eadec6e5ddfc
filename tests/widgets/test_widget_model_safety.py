"""The user's model is never mutated by the widget: hooks, modes, requires_grad, weights, gradients."""

import pytest
import torch
from widget_test_models import Switchable

from attr_widgets.attribution import hook_counts
from attr_widgets.widgets import AttributionWidget


def snapshot(model):
    return {
        "training": {name: m.training for name, m in model.named_modules()},
        "requires_grad": {name: p.requires_grad for name, p in model.named_parameters()},
        "grads": {name: None if p.grad is None else p.grad.clone() for name, p in model.named_parameters()},
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "hooks": hook_counts(model),
    }


def assert_unchanged(model, before):
    after = snapshot(model)
    assert after["training"] == before["training"]
    assert after["requires_grad"] == before["requires_grad"]
    assert after["hooks"] == before["hooks"]
    assert all(v == 0 for v in after["hooks"].values()), after["hooks"]
    for name, grad in before["grads"].items():
        assert (after["grads"][name] is None) == (grad is None), name
        if grad is not None:
            assert torch.equal(after["grads"][name], grad), name
    for key, value in before["state"].items():
        assert torch.equal(after["state"][key], value), key


def exercise(w):
    for entry in w.options["methods"]:
        w.method = entry["value"]
    w.method = "integrated_gradients"
    for baseline in ("blur", "uniform", "zeros"):
        w.baseline = baseline
    w.set_state({"target": (w.target + 1) % 10})
    w.wait()


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_model_is_unchanged_after_every_method(cnn, digit, mode):
    cnn.train(mode == "train")
    cnn[0].weight.requires_grad_(False)  # a partly frozen model stays partly frozen
    before = snapshot(cnn)
    w = AttributionWidget(cnn, digit)
    exercise(w)
    assert_unchanged(cnn, before)


def test_existing_gradients_are_left_alone(cnn, digit):
    cnn(digit[None]).sum().backward()
    before = snapshot(cnn)
    exercise(AttributionWidget(cnn, digit))
    assert_unchanged(cnn, before)


def test_no_hooks_left_after_an_injected_error(cnn, digit):
    model = Switchable(cnn)
    before = snapshot(model)
    w = AttributionWidget(model, digit)
    model.fail = True
    for method in ("deeplift", "guided_backprop", "input_x_gradient", "saliency"):  # not yet cached
        with pytest.raises(RuntimeError, match="injected failure"):
            w.method = method
        w.set_state({"baseline": "blur" if w.baseline != "blur" else "zeros"})
        with pytest.raises(RuntimeError, match="injected failure"):
            w.wait()
    model.fail = False
    assert_unchanged(model, before)


def test_users_own_hooks_survive(cnn, digit):
    calls = []
    handle = cnn[0].register_forward_hook(lambda *args: calls.append(1))
    try:
        exercise(AttributionWidget(cnn, digit))
        assert len(cnn[0]._forward_hooks) == 1 and calls
    finally:
        handle.remove()


def test_inputs_are_not_modified(cnn, digit):
    x = digit.clone()
    exercise(AttributionWidget(cnn, x))
    assert torch.equal(x, digit) and not x.requires_grad
