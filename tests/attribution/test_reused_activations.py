"""DeepLIFT and friends on models that call one activation module several times (torchvision's ResNets).

Reference: Captum's own class on the twin built with one activation module per call site (same parameters),
which is the model Captum supports.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from captum.attr import Deconvolution, DeepLift, DeepLiftShap, GuidedBackprop, LayerDeepLift, NeuronDeepLift
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import attr_widgets as aw
from attr_widgets.attribution import hook_counts
from attr_widgets.attribution._distinct_activations import distinct_view
from attr_widgets.examples.resnet import resnet18


@pytest.fixture(scope="module")
def pair() -> tuple[nn.Module, nn.Module, torch.Tensor]:
    shared = resnet18(num_classes=10, seed=3)
    twin = resnet18(num_classes=10, seed=3, distinct_activations=True)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    return shared, twin, x


def _structure(model: nn.Module) -> list[tuple[str, int, bool]]:
    return [(name, id(module), module.training) for name, module in model.named_modules()]


def test_the_shared_model_is_the_case_captum_rejects(pair) -> None:
    # Guard for the tests below: without the view, Captum fails on this architecture.
    shared, _, x = pair
    with warnings.catch_warnings(), pytest.raises(RuntimeError, match="input/output attributes"):
        warnings.simplefilter("ignore")
        DeepLift(shared).attribute(x.clone(), baselines=torch.zeros_like(x), target=1)


@pytest.mark.parametrize("method", ["deeplift", "guided_backprop", "deconvolution"])
def test_equals_captum_on_the_distinct_module_twin(pair, method: str) -> None:
    shared, twin, x = pair
    before = (_structure(shared), hook_counts(shared), {k: v.clone() for k, v in shared.state_dict().items()})
    ours = aw.attribute(shared, x, method=method, target=1, cache=False)
    captum_class = {"deeplift": DeepLift, "guided_backprop": GuidedBackprop, "deconvolution": Deconvolution}
    options = {"baselines": torch.zeros_like(x)} if method == "deeplift" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = captum_class[method](twin).attribute(x.clone(), target=1, **options)
    torch.testing.assert_close(ours.values, reference.detach(), rtol=1e-5, atol=1e-7)
    assert before[0] == _structure(shared) and before[1] == hook_counts(shared)
    assert all(torch.equal(v, before[2][k]) for k, v in shared.state_dict().items())
    if method == "deeplift":  # Rescale through ReLUs and max-pool: complete up to the max-pool's rule
        assert ours.delta is not None and ours.delta.abs().max() < 1e-3 * ours.outputs.abs().max() + 1e-5


def test_deeplift_shap_equals_captum_on_the_twin(pair) -> None:
    shared, twin, x = pair
    baselines = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    ours = aw.attribute(shared, x, method="deeplift_shap", baseline=baselines, target=2, cache=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = DeepLiftShap(twin).attribute(x.clone(), baselines=baselines, target=2)
    torch.testing.assert_close(ours.values, reference.detach(), rtol=1e-5, atol=1e-7)


def test_layer_and_neuron_deeplift_equal_captum_on_the_twin(pair) -> None:
    shared, twin, x = pair
    zeros = torch.zeros_like(x)
    ours = aw.attribute(shared, x, method="layer_deeplift", layer="layer3", target=4, cache=False)
    neuron = aw.attribute(
        shared, x, method="neuron_deeplift", layer="layer2.1.conv2", neuron=(5, 1, 1), cache=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer_reference = LayerDeepLift(twin, twin.layer3).attribute(x.clone(), zeros, target=4)
        neuron_reference = NeuronDeepLift(twin, twin.layer2[1].conv2).attribute(x.clone(), (5, 1, 1), zeros)
    torch.testing.assert_close(ours.values, layer_reference.detach(), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(neuron.values, neuron_reference.detach(), rtol=1e-5, atol=1e-7)


def test_a_reused_activation_as_the_layer_is_refused_by_name(pair) -> None:
    shared, _, x = pair
    with pytest.raises(ValueError, match=r"layer='layer1\.0\.relu' is called 2 times"):
        aw.attribute(shared, x, method="layer_deeplift", layer="layer1.0.relu", cache=False)


def test_a_model_without_reuse_is_used_as_it_is() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert distinct_view(model, {})[0] is model


class _SharedActivation(nn.Module):
    """Linear layers with one activation module called after each of them."""

    def __init__(self, widths: list[int], activation: str, distinct: bool) -> None:
        super().__init__()
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:], strict=False))
        make = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[activation]
        count = len(self.linears) - 1
        self.acts = nn.ModuleList(make() for _ in range(count if distinct else 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, linear in enumerate(self.linears[:-1]):
            x = self.acts[i % len(self.acts)](linear(x))
        return self.linears[-1](x)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    depth=st.integers(2, 4),
    width=st.integers(2, 6),
    activation=st.sampled_from(["relu", "tanh", "sigmoid"]),
    seed=st.integers(0, 10_000),
)
def test_law_deeplift_on_reused_activations_equals_the_twin(depth, width, activation, seed) -> None:
    # DeepLIFT is defined per call site; a module called k times must act as k modules.
    widths = [5] + [width] * depth + [3]
    torch.manual_seed(seed)
    shared = _SharedActivation(widths, activation, distinct=False).double().eval()
    twin = _SharedActivation(widths, activation, distinct=True).double().eval()
    twin.load_state_dict(shared.state_dict(), strict=False)
    x = torch.randn(4, 5, dtype=torch.float64)
    baseline = torch.randn(1, 5, dtype=torch.float64)
    ours = aw.attribute(shared, x, method="deeplift", baseline=baseline, target=0, cache=False)
    reference = DeepLift(twin).attribute(x.clone(), baselines=baseline, target=0)
    torch.testing.assert_close(ours.values, reference.detach())
    # Rescale through elementwise nonlinearities is exactly complete (summation-to-delta).
    torch.testing.assert_close(ours.delta, torch.zeros(4, dtype=torch.float64), atol=1e-9, rtol=0)


def test_deeplift_takes_f_of_the_baseline_from_captums_own_forward(pair) -> None:
    shared, _, x = pair
    seen: list[tuple[int, int]] = []
    result = aw.attribute(
        shared, x, method="deeplift", target=3, cache=False, progress=lambda d, t: seen.append((d, t))
    )
    # Rows: Captum's one forward on [inputs; baselines] (2B), nothing else: with a class-index target its
    # halves give f(x) and f(baseline), so attribute() runs no first forward of its own.
    assert seen[-1][0] == 2 * x.shape[0]
    assert seen[-1][1] == seen[-1][0]  # the progress total was right from the start
    with torch.no_grad():
        expected = shared(torch.zeros_like(x))[:, 3]
        expected_outputs = shared(x)[:, 3]
    torch.testing.assert_close(result.baseline_outputs, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(result.outputs, expected_outputs, rtol=1e-5, atol=1e-6)
