"""The user's model is never mutated; bad input gives errors that name the argument."""

import pytest
import torch
from attr_test_models import FailingModel, all_hook_dicts_empty, images, same_state, small_cnn, state_snapshot
from torch import nn

import attr_widgets.attribution as A
from attr_widgets.attribution import attribute
from attr_widgets.attribution._registry import specs

# Every registered method (new ones included): what each needs comes from its methods() entry.
INFO = {str(m): m for m in A.methods()}
LAYER_METHODS = {name for name, m in INFO.items() if m.needs_layer}
IMAGE_METHODS = [m for m in A.methods() if m.family != "attention"]  # attention needs a transformer


def _kwargs(method, model):
    kwargs = {"cache": False}
    info = INFO[str(method)]
    if method in LAYER_METHODS:
        kwargs["layer"] = model.inner[2] if isinstance(model, FailingModel) else model[2]
    if "neuron" in info.options:
        kwargs["neuron"] = (1, 2, 3)  # a unit of the Conv2d output [B, 6, 8, 8] of small_cnn's layer 2
    if method == "x_gradient":
        kwargs["check_homogeneous"] = False
    if info.uses_steps:
        kwargs["n_steps"] = 8
    for samples in ("nt_samples", "n_samples"):
        if samples in info.options:
            kwargs[samples] = 4
    return kwargs


def _mark_state(model):
    # A mixed state that an attribution must not normalise: one module in train mode, one frozen parameter,
    # one parameter with an existing .grad.
    model.train(False)
    model[0].train(True)
    model[2].weight.requires_grad_(False)
    model[0].bias.grad = torch.ones_like(model[0].bias)
    return model


@pytest.mark.parametrize("method", IMAGE_METHODS)
def test_normal_call_leaves_model_exactly_as_it_was(method):
    model = _mark_state(small_cnn())
    before = state_snapshot(model)
    attribute(model, images(), method=method, **_kwargs(method, model))
    assert all_hook_dicts_empty(model)
    assert same_state(before, state_snapshot(model))


@pytest.mark.parametrize("method", IMAGE_METHODS)
def test_state_restored_after_an_injected_error(method):
    inner = _mark_state(small_cnn())
    # Single-pass methods call the model once (the gradient reuses that forward's graph): fail there.
    model = FailingModel(inner, fail_on_call=1 if specs()[method].single_pass else 2)
    before = state_snapshot(model)
    with pytest.raises(RuntimeError, match="injected failure"):
        attribute(model, images(), method=method, **_kwargs(method, model))
    assert all_hook_dicts_empty(model)
    assert same_state(before, state_snapshot(model))


def test_batchnorm_running_stats_untouched_in_train_mode():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(144, 3)
    ).train()
    before = state_snapshot(model)
    attribute(model, images(), method="integrated_gradients", n_steps=4)
    assert same_state(before, state_snapshot(model))


def test_hooks_the_user_registered_survive():
    model = small_cnn()
    seen = []
    handle = model[1].register_forward_hook(lambda m, i, o: seen.append(1))
    attribute(model, images(), method="guided_backprop")
    assert len(model[1]._forward_hooks) == 1 and seen
    handle.remove()


def test_hook_counts_reports_leftovers():
    model = small_cnn()
    handle = model[0].register_forward_pre_hook(lambda m, i: None)
    assert A.hook_counts(model)["_forward_pre_hooks"] == 1
    handle.remove()
    assert sum(A.hook_counts(model).values()) == 0


def test_unknown_method_suggests_nearest():
    with pytest.raises(ValueError, match="Did you mean 'integrated_gradients'"):
        attribute(small_cnn(), images(), method="integrated_gradient")
    with pytest.raises(ValueError, match="Did you mean 'riemann_trapezoid'"):
        attribute(small_cnn(), images(), method="integrated_gradients", integration="riemann_trapezium")


def test_unknown_option_names_method_and_suggests():
    with pytest.raises(TypeError, match=r"nt_samples"):
        attribute(small_cnn(), images(), method="smoothgrad", nt_sample=3)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_inf_inputs_rejected(bad):
    x = images()
    x[0, 0, 0, 0] = bad
    with pytest.raises(ValueError, match="inputs contains 1 NaN or Inf"):
        attribute(small_cnn(), x, method="saliency")


def test_bad_inputs_types():
    with pytest.raises(TypeError, match="inputs must be a torch.Tensor"):
        attribute(small_cnn(), images().numpy(), method="saliency")
    with pytest.raises(TypeError, match="floating-point"):
        attribute(small_cnn(), torch.zeros(2, 3, 8, 8, dtype=torch.long), method="saliency")
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        attribute(lambda x: x, images(), method="saliency")


def test_layer_not_in_model():
    model = small_cnn()
    with pytest.raises(ValueError, match="not a submodule"):
        attribute(model, images(), method="grad_cam", layer=nn.Conv2d(3, 3, 1))
    with pytest.raises(ValueError, match=r"layer='22' is not known. Did you mean '2'"):
        attribute(model, images(), method="grad_cam", layer="22")
    with pytest.raises(ValueError, match="needs layer="):
        attribute(model, images(), method="grad_cam")
    with pytest.raises(ValueError, match="layer= is not used"):
        attribute(model, images(), method="saliency", layer=model[0])


def test_non_differentiable_output():
    class Argmaxer(nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot(x.flatten(1).argmax(1) % 4, 4).float()

    with pytest.raises(ValueError, match="differentiabl"):
        attribute(Argmaxer(), images(), method="saliency", target=0)


def test_bad_n_steps_and_batch_size():
    with pytest.raises(ValueError, match="n_steps must be at least 2"):
        attribute(
            small_cnn(), images(), method="integrated_gradients", n_steps=1, integration="riemann_trapezoid"
        )
    with pytest.raises(TypeError, match="n_steps"):
        attribute(small_cnn(), images(), method="integrated_gradients", n_steps=2.5)
    with pytest.raises(ValueError, match="internal_batch_size"):
        attribute(small_cnn(), images(), method="integrated_gradients", internal_batch_size=0)


class LazyHookModel(nn.Module):
    """Installs a hook of its own on first use (as Hugging Face models do for output_attentions)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = small_cnn()
        self.installed = False
        self.seen = 0

    def _count(self, module, args, output):
        self.seen += 1

    def forward(self, x):
        if not self.installed:
            self.inner[0].register_forward_hook(self._count)
            self.installed = True
        return self.inner(x)


def test_hooks_the_model_installs_itself_are_kept():
    model = LazyHookModel()
    attribute(model, images(), method="guided_backprop")
    assert len(model.inner[0]._forward_hooks) == 1
    before = model.seen
    model(images())
    assert model.seen == before + 1
