"""Layer gradient × activation and layer activation in one forward, equal to Captum's classes.

The first forward of ``attribute`` keeps the layer's activations (``_layer_leaf``); these cases cover the
ways that can go wrong: frozen weights (activations not on a graph), integer inputs, the layer's input,
an in-place activation right after the layer, and the chunked fallback to Captum.
"""

import pytest
import torch
from captum import attr as C
from torch import nn

from attr_widgets.attribution import attribute, hook_counts


class Counting(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.body(x)


def _cnn(inplace: bool) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(inplace=inplace),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(inplace=inplace),
        nn.Flatten(),
        nn.Linear(4 * 6 * 6, 3),
    ).eval()


def _captum(method: str, model: nn.Module, layer: nn.Module, x, target, **options):
    if method == "layer_activation":
        return C.LayerActivation(model, layer).attribute(x, **options)
    multiply = options.pop("multiply_by_inputs", True)
    return C.LayerGradientXActivation(model, layer, multiply_by_inputs=multiply).attribute(
        x, target=target, **options
    )


CASES = [
    ("layer_gradient_x_activation", {}),
    ("layer_gradient_x_activation", {"multiply_by_inputs": False}),
    ("layer_gradient_x_activation", {"attribute_to_layer_input": True}),
    ("layer_activation", {}),
    ("layer_activation", {"attribute_to_layer_input": True}),
]


@pytest.mark.parametrize(("method", "options"), CASES)
@pytest.mark.parametrize("frozen", [False, True])
def test_one_forward_equals_captum(method, options, frozen):
    model = _cnn(inplace=False)
    if frozen:
        model.requires_grad_(False)
    x = torch.rand(5, 1, 6, 6, generator=torch.Generator().manual_seed(1))
    counted = Counting(model)
    ours = attribute(counted, x, method=method, layer="body.2", target=1, cache=False, **options)
    assert counted.calls == 1  # no second forward: the first one's activations are the result
    theirs = _captum(method, model, model[2], x, 1, **options)
    torch.testing.assert_close(ours.values, theirs, rtol=1e-5, atol=1e-6)
    assert all(p.requires_grad is not frozen for p in model.parameters())
    assert all(p.grad is None for p in model.parameters())
    assert sum(hook_counts(model).values()) == 0


def test_in_place_relu_after_the_layer_keeps_the_layer_output():
    """An in-place ReLU after the layer neither breaks the kept activations (a leaf fed on as a clone when
    the weights are frozen) nor changes the values: equal to Captum on the model without in-place ReLUs."""
    model = _cnn(inplace=True)
    x = torch.rand(4, 1, 6, 6, generator=torch.Generator().manual_seed(2)) - 0.5
    frozen = _cnn(inplace=True).requires_grad_(False)
    for net in (model, frozen):
        ours = attribute(net, x, method="layer_gradient_x_activation", layer="2", target=0, cache=False)
        clean = _cnn(inplace=False)
        expected = C.LayerGradientXActivation(clean, clean[2]).attribute(x, target=0)
        torch.testing.assert_close(ours.values, expected, rtol=1e-5, atol=1e-6)


def test_integer_inputs_through_an_embedding():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2)).eval()
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    ours = attribute(model, ids, method="layer_gradient_x_activation", layer="0", target=1, cache=False)
    theirs = C.LayerGradientXActivation(model, model[0]).attribute(ids, target=1)
    torch.testing.assert_close(ours.values, theirs)


@pytest.mark.parametrize("method", ["layer_gradient_x_activation", "layer_activation"])
def test_chunked_batches_fall_back_to_captum_with_equal_values(method):
    model = _cnn(inplace=False)
    x = torch.rand(6, 1, 6, 6, generator=torch.Generator().manual_seed(4))
    whole = attribute(model, x, method=method, layer="2", target=2, cache=False)
    chunked = attribute(model, x, method=method, layer="2", target=2, cache=False, internal_batch_size=2)
    torch.testing.assert_close(whole.values, chunked.values, rtol=1e-5, atol=1e-6)


def test_a_layer_the_score_does_not_reach_is_a_clear_error():
    class Detached(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.side = nn.Linear(3, 3)
            self.head = nn.Linear(3, 2)

        def forward(self, x):
            self.side(x)  # computed, then ignored
            return self.head(x)

    model = Detached().requires_grad_(False)
    with pytest.raises(ValueError, match="does not depend differentiably on this layer"):
        attribute(model, torch.rand(2, 3), method="layer_gradient_x_activation", layer="side", cache=False)
