"""DeepLIFT and layer DeepLIFT without a first forward: f(x) from Captum's forward, same checks, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import attr_widgets as aw
from attr_widgets.attribution._model_state import hook_counts


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5)
    ).eval()


def _rows(model: nn.Module, x: torch.Tensor, **kwargs: object) -> tuple[object, list[int]]:
    seen: list[int] = []
    result = aw.attribute(model, x, cache=False, progress=lambda done, total: seen.append(done), **kwargs)
    return result, seen


@pytest.mark.parametrize("method, layer", [("deeplift", None), ("layer_deeplift", "0")])
@pytest.mark.parametrize("target", [2, torch.tensor([1, 4, 0])])
def test_outputs_come_from_captums_forward(method: str, layer: str | None, target) -> None:
    model = _cnn()
    x = torch.rand(3, 3, 6, 6)
    result, seen = _rows(model, x, method=method, layer=layer, target=target)
    assert seen[-1] == 2 * x.shape[0]  # Captum's [inputs; baselines] forward only
    classes = torch.as_tensor(target).expand(3)
    with torch.no_grad():
        expected = model(x).gather(1, classes[:, None]).squeeze(1)
        expected_baseline = model(torch.zeros_like(x)).gather(1, classes[:, None]).squeeze(1)
    torch.testing.assert_close(result.outputs, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(result.baseline_outputs, expected_baseline, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(result.target, classes)
    # Rescale through ReLU and linear layers is complete: the delta uses these f(x) and f(baseline).
    torch.testing.assert_close(result.delta, torch.zeros(3), atol=1e-4, rtol=0)


@pytest.mark.parametrize("method, layer", [("deeplift", None), ("layer_deeplift", "0")])
def test_target_none_still_runs_the_first_forward(method: str, layer: str | None) -> None:
    model = _cnn()
    x = torch.rand(3, 3, 6, 6)
    result, seen = _rows(model, x, method=method, layer=layer)
    assert seen[-1] == 3 * x.shape[0]  # the top class needs the logits first
    with torch.no_grad():
        torch.testing.assert_close(result.target, model(x).argmax(1))


@pytest.mark.parametrize("method, layer", [("deeplift", None), ("layer_deeplift", "0")])
@pytest.mark.parametrize("target", [5, torch.tensor([0, 7, 1]), -1])
def test_out_of_range_target_is_reported_first(method: str, layer: str | None, target) -> None:
    model = _cnn()
    with pytest.raises(ValueError, match="out of range: the model has 5 classes"):
        aw.attribute(model, torch.rand(3, 3, 6, 6), method=method, layer=layer, target=target, cache=False)
    assert sum(hook_counts(model).values()) == 0  # Captum's hooks are gone, also after the error


@pytest.mark.parametrize("target", [torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0, 1]), True])
def test_bad_targets_get_the_same_errors(target) -> None:
    with pytest.raises((TypeError, ValueError), match="target"):
        aw.attribute(_cnn(), torch.rand(3, 3, 6, 6), method="deeplift", target=target, cache=False)


class _Exploding(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = _cnn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return torch.where(x[:, :1, 0, 0] > 0.5, torch.full_like(out, float("inf")), out)


def test_non_finite_output_on_the_inputs_is_reported() -> None:
    x = torch.rand(3, 3, 6, 6)
    x[1, 0, 0, 0] = 0.9  # this example's output is infinite (the zero baseline's is not)
    with pytest.raises(ValueError, match="selected output contains NaN/Inf"):
        aw.attribute(_Exploding(), x, method="deeplift", target=1, cache=False)


def test_shape_mistakes_are_explained_without_the_first_forward() -> None:
    with pytest.raises(ValueError, match="channels-last"):
        aw.attribute(_cnn(), torch.rand(2, 6, 6, 3), method="deeplift", target=1, cache=False)
    with pytest.raises(ValueError, match="unbatched image"):
        aw.attribute(_cnn(), torch.rand(3, 6, 6), method="layer_deeplift", layer="0", target=1, cache=False)


def test_train_mode_keeps_the_first_forward() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).train()
    x = torch.randn(5, 4)
    with pytest.warns(UserWarning, match="training mode"):
        result, seen = _rows(model, x, method="deeplift", target=0)
    assert seen[-1] == 3 * x.shape[0]  # batch statistics over [inputs; baselines] would change f(x)
    assert model.training
