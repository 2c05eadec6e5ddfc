"""attr_widgets._torch: resolve_layer, model_device, capture and patched leave the model as they found it."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from attr_widgets._torch import all_modules, capture, first_parameter, model_device, patched, resolve_layer
from attr_widgets.attribution import hook_counts


class Pair(nn.Module):
    """Returns a tuple whose first element is a tensor (as transformer blocks do)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, str]:
        return x * 2, "extra"


class First(nn.Module):
    def forward(self, pair: tuple[torch.Tensor, str]) -> torch.Tensor:
        return pair[0]


def net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def no_hooks(model: nn.Module) -> bool:
    return not any(hook_counts(model).values())


def test_capture_records_the_output_and_removes_its_hook() -> None:
    model, x = net(), torch.randn(5, 3)
    with capture(model[0]) as seen:
        out = model(x)
        model(x)
    assert len(seen.outputs) == 2
    torch.testing.assert_close(seen.output, model[0](x))
    torch.testing.assert_close(out, model(x))
    assert no_hooks(model)


def test_capture_leaf_gives_gradients_at_the_layer() -> None:
    model, x = net(), torch.randn(5, 3)
    with capture(model[1], leaf=True) as seen:
        out = model(x).sum()
    (grad,) = torch.autograd.grad(out, seen.output)
    torch.testing.assert_close(grad, model[2].weight.sum(0).expand(5, 4))
    assert all(p.grad is None for p in model.parameters())
    assert no_hooks(model)


def test_capture_takes_the_first_tensor_of_a_tuple() -> None:
    model = nn.Sequential(Pair(), First())
    x = torch.randn(2, 3)
    with capture(model[0]) as seen:
        model(x)
    torch.testing.assert_close(seen.output, 2 * x)
    with capture(model[0], leaf=True) as seen:
        torch.testing.assert_close(model(x), 2 * x)
    assert seen.output.requires_grad
    assert no_hooks(model)


def test_capture_without_a_run_and_with_a_bad_output() -> None:
    model = net()
    with capture(model[0]) as seen, pytest.raises(RuntimeError, match="has not run"):
        _ = seen.output

    class Text(nn.Module):
        def forward(self, x: torch.Tensor) -> str:
            return "no tensor"

    text = Text()
    with capture(text), pytest.raises(TypeError, match="the hooked module returned str"):
        text(torch.zeros(1))
    assert no_hooks(text)


def test_capture_and_patched_remove_their_hooks_when_the_block_raises() -> None:
    model, x = net(), torch.randn(5, 3)
    with pytest.raises(KeyError), capture(model[0]):
        model(x)
        raise KeyError("boom")
    assert no_hooks(model)
    with pytest.raises(KeyError), patched(model[1], torch.zeros_like):
        model(x)
        raise KeyError("boom")
    assert no_hooks(model)


def test_patched_replaces_the_output_as_fn_says() -> None:
    model, x = net(), torch.randn(5, 3)
    before = model(x)
    with patched(model[1], torch.zeros_like) as module:
        assert module is model[1]
        torch.testing.assert_close(model(x), model[2].bias.expand(5, 2))
    with patched(model[2], lambda t: t * 3):
        torch.testing.assert_close(model(x), 3 * before)
    torch.testing.assert_close(model(x), before)
    assert no_hooks(model)


def test_patched_patches_the_first_element_of_a_tuple() -> None:
    model = nn.Sequential(Pair(), First())
    x = torch.randn(2, 3)
    seen = []
    model[1].register_forward_pre_hook(lambda _m, args: seen.append(args[0][1]))
    with patched(model[0], lambda t: t + 1):
        torch.testing.assert_close(model(x), 2 * x + 1)
    assert seen == ["extra"]
    torch.testing.assert_close(model(x), 2 * x)


def test_resolve_layer_by_name_and_by_module() -> None:
    model = net()
    assert resolve_layer(model, "2") == (model[2], "2")
    assert resolve_layer(model, model[1]) == (model[1], "1")
    assert resolve_layer(model, "") == (model, "")


def test_resolve_layer_errors() -> None:
    model = nn.Sequential(OrderedDict(encoder=nn.Linear(3, 4), head=nn.Linear(4, 2)))
    with pytest.raises(ValueError, match=r"layer='encodr' is not known\. Did you mean 'encoder'\?"):
        resolve_layer(model, "encodr")
    with pytest.raises(ValueError, match=r"layer=Linear\(\.\.\.\) is not a submodule of the model"):
        resolve_layer(model, nn.Linear(1, 1))
    with pytest.raises(TypeError, match=r"layer must be an nn.Module inside the model or its dotted name"):
        resolve_layer(model, 2)


def test_old_names_stay_importable() -> None:
    from attr_widgets._torch import unknown_name_error
    from attr_widgets.attribution import _model_state, _validation

    assert _validation.resolve_layer is resolve_layer
    assert _validation.unknown_name_error is unknown_name_error
    assert _model_state.model_device is model_device


def test_model_device() -> None:
    assert model_device(net()) == torch.device("cpu")
    assert model_device(nn.ReLU()) == torch.device("cpu")
    assert model_device(nn.BatchNorm1d(3, affine=False)) == torch.device("cpu")


def test_all_modules_and_first_parameter_match_torchs_own_walk():
    shared = nn.Linear(3, 3)
    relu = nn.ReLU()  # one activation module used twice, as torchvision's ResNet blocks do
    model = nn.Sequential(
        nn.Sequential(nn.Identity(), shared, relu),
        nn.ModuleDict({"b": nn.Sequential(shared, relu), "c": nn.Conv2d(1, 2, 1)}),
        nn.Sequential(),
    )
    model.register_module("missing", None)
    assert [id(m) for m in all_modules(model)] == [id(m) for m in model.modules()]
    assert first_parameter(model) is next(model.parameters())
    assert first_parameter(nn.Sequential(nn.ReLU())) is None
