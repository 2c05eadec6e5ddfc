"""Laws that hold for all inputs (hypothesis), and the seeds' worked examples."""

import torch
from attr_test_models import tanh_mlp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from attr_widgets.attribution import attribute

FEATURES = 6
finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
vectors = st.lists(finite, min_size=FEATURES, max_size=FEATURES)
batches = st.lists(vectors, min_size=1, max_size=3)
law_settings = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

MODEL = tanh_mlp(seed=5)
OTHER = tanh_mlp(seed=6)


class Mix(nn.Module):
    def __init__(self, g, h, a, b):
        super().__init__()
        self.g, self.h, self.a, self.b = g, h, a, b

    def forward(self, x):
        return self.a * self.g(x) + self.b * self.h(x)


def _ig(model, x, **kwargs):
    kwargs = {"target": 0, "n_steps": 24, "cache": False, **kwargs}
    return attribute(model, x, method="integrated_gradients", **kwargs)


@law_settings
@given(batches)
def test_completeness_for_all_inputs_on_a_tanh_mlp(rows):
    x = torch.tensor(rows, dtype=torch.float64)
    result = _ig(MODEL, x)
    gap = (result.outputs - result.baseline_outputs).abs()
    assert (result.delta.abs() <= 1e-9 * torch.clamp(gap, min=1.0)).all()


@law_settings
@given(batches, st.floats(-2, 2), st.floats(-2, 2))
def test_linearity_in_the_model(rows, a, b):
    x = torch.tensor(rows, dtype=torch.float64)
    mixed = _ig(Mix(MODEL, OTHER, a, b), x).values
    torch.testing.assert_close(
        mixed, a * _ig(MODEL, x).values + b * _ig(OTHER, x).values, rtol=1e-9, atol=1e-12
    )


class Symmetric(nn.Module):
    """f(x) depends on x0 and x1 only through x0 + x1 (and on the rest freely): x0, x1 are symmetric."""

    def __init__(self):
        super().__init__()
        self.inner = tanh_mlp(seed=7, features=FEATURES - 1)

    def forward(self, x):
        return self.inner(torch.cat([x[:, :1] + x[:, 1:2], x[:, 2:]], dim=1))


@law_settings
@given(finite, st.lists(finite, min_size=FEATURES - 2, max_size=FEATURES - 2))
def test_symmetry_preservation(shared, rest):
    x = torch.tensor([[shared, shared, *rest]], dtype=torch.float64)
    for method in ("integrated_gradients", "saliency", "input_x_gradient"):
        values = attribute(Symmetric(), x, method=method, target=1, cache=False).values
        torch.testing.assert_close(values[:, 0], values[:, 1], rtol=1e-10, atol=1e-12)


class IgnoresLast(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = tanh_mlp(seed=8, features=FEATURES - 1)

    def forward(self, x):
        return self.inner(x[:, :-1])


@law_settings
@given(batches)
def test_dummy_feature_gets_zero_attribution(rows):
    # Sensitivity (b): a feature the model does not depend on is attributed zero.
    x = torch.tensor(rows, dtype=torch.float64)
    for method in ("integrated_gradients", "saliency", "input_x_gradient", "deeplift", "feature_ablation"):
        values = attribute(IgnoresLast(), x, method=method, target=2, cache=False).values
        # Gradients are exactly zero; perturbation methods differ only by batched-matmul rounding.
        assert values[:, -1].abs().max() <= 1e-12


@law_settings
@given(batches, st.integers(1, 40))
def test_chunking_never_changes_values(rows, chunk):
    x = torch.tensor(rows, dtype=torch.float64)
    torch.testing.assert_close(_ig(MODEL, x, internal_batch_size=chunk).values, _ig(MODEL, x).values)


@law_settings
@given(batches, st.floats(0.1, 10.0))
def test_implementation_invariance_under_relu_rescaling(rows, scale):
    # W2·relu(W1 x) = (W2 / c)·relu(c W1 x) for c > 0: functionally equal networks, equal gradients and IG.
    torch.manual_seed(0)
    first = nn.Sequential(nn.Linear(FEATURES, 8, bias=False), nn.ReLU(), nn.Linear(8, 2, bias=False)).double()
    second = nn.Sequential(
        nn.Linear(FEATURES, 8, bias=False), nn.ReLU(), nn.Linear(8, 2, bias=False)
    ).double()
    with torch.no_grad():
        second[0].weight.copy_(first[0].weight * scale)
        second[2].weight.copy_(first[2].weight / scale)
    x = torch.tensor(rows, dtype=torch.float64)
    for method in ("integrated_gradients", "saliency"):
        a = attribute(first, x, method=method, target=1, cache=False).values
        b = attribute(second, x, method=method, target=1, cache=False).values
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


class Saturating(nn.Module):
    """Seed 003 / 004: f(x) = 1 − ReLU(1 − x) (the ReLU a module, so that DeepLIFT sees it)."""

    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()

    def forward(self, x):
        return (1 - self.relu(1 - x)).reshape(-1, 1)


def test_gradient_saturation_example_of_the_seeds():
    x = torch.tensor([[2.0]], dtype=torch.float64)
    assert attribute(Saturating(), x, method="saliency", target=0).values.item() == 0.0
    # The integrand is 2 for α < 1/2 and 0 after; the midpoint rule with an even n integrates it exactly.
    ig = attribute(
        Saturating(), x, method="integrated_gradients", target=0, n_steps=10, integration="riemann_middle"
    )
    assert ig.values.item() == 1.0 and ig.delta.item() == 0.0
    deeplift = attribute(Saturating(), x, method="deeplift", target=0)
    torch.testing.assert_close(deeplift.values, torch.ones(1, 1, dtype=torch.float64))
