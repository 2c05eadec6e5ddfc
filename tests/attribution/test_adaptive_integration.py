"""integration="adaptive": Simpson panels split where completeness fails on them (attribution._adaptive).

References: closed forms (a quadratic's IG is exact under Simpson's rule), a fixed Gauss–Legendre rule at many
nodes (the converged integral), and IG's completeness on every piece of the path (Sundararajan, Taly and Yan,
"Axiomatic Attribution for Deep Networks", 2017), which the stopping rule reads.
"""

from __future__ import annotations

import pytest
import torch
from attr_test_models import tanh_mlp
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from attr_widgets.attribution import attribute
from attr_widgets.attribution._adaptive import START, _fewest_splits, _Path


class Quadratic(nn.Module):
    """f(x) = Σ c_i x_i²: IG from 0 is c_i x_i² exactly, and the integrand is linear in α."""

    def __init__(self, c: torch.Tensor) -> None:
        super().__init__()
        self.c = nn.Parameter(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.c * x**2).sum(1, keepdim=True)


class Step(nn.Module):
    """A saturating unit f(x) = sigmoid(s·(w·x − t)): all of f's change is in a narrow part of the path."""

    def __init__(self, features: int, sharpness: float, threshold: float) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(features) / features)
        self.sharpness, self.threshold = sharpness, threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.sharpness * (x @ self.w - self.threshold)).unsqueeze(1)


def adaptive(model: nn.Module, x: torch.Tensor, tol: float, **kw):
    return attribute(
        model, x, method="integrated_gradients", n_steps="auto", integration="adaptive", tol=tol, target=0,
        cache=False, **kw,
    )  # fmt: skip


def test_a_quadratic_is_exact_on_the_first_grid():
    c = torch.tensor([0.5, -2.0, 3.0])
    x = torch.tensor([[1.0, 2.0, -1.5], [0.3, 0.1, 2.0]])
    result = adaptive(Quadratic(c), x, tol=1e-6)
    torch.testing.assert_close(result.values, c * x**2, rtol=1e-5, atol=1e-6)
    assert result.info["steps"].tolist() == [len(START)] * 2  # nothing to refine


def test_a_sharp_transition_converges_to_the_integral_with_nodes_where_f_changes():
    model = Step(4, sharpness=60.0, threshold=0.7)
    x = torch.ones(1, 4)
    result = adaptive(model, x, tol=1e-3)
    reference = attribute(model, x, method="integrated_gradients", n_steps=2048, target=0, cache=False)
    with torch.no_grad():
        gap = float(model(x) - model(torch.zeros_like(x)))
    assert abs(float(result.delta[0])) <= 1e-3 * abs(gap)
    torch.testing.assert_close(result.values, reference.values, rtol=2e-3, atol=1e-4)
    # Gauss–Legendre refined to the same tolerance spends more gradient evaluations on this path.
    legendre = attribute(
        model, x, method="integrated_gradients", n_steps="auto", tol=1e-3, target=0, cache=False
    )
    assert int(result.info["evaluations"][0]) < int(legendre.info["evaluations"][0])


def test_each_example_is_refined_only_as_far_as_it_needs():
    model = Step(4, sharpness=60.0, threshold=0.7)
    easy, hard = torch.full((1, 4), 0.2), torch.ones(1, 4)  # easy: the path never reaches the transition
    result = adaptive(model, torch.cat([easy, hard]), tol=1e-3)
    steps = result.info["steps"].tolist()
    assert steps[0] < steps[1]
    alone = adaptive(model, hard, tol=1e-3)
    torch.testing.assert_close(result.values[1:], alone.values)  # batching does not change an example


def test_max_steps_caps_the_nodes_and_the_result_says_so():
    model = Step(4, sharpness=400.0, threshold=0.7)
    result = adaptive(model, torch.ones(1, 4), tol=1e-9, max_steps=13)
    assert int(result.info["steps"][0]) <= 13


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), tol=st.sampled_from([1e-2, 1e-3]))
def test_the_stopping_rule_bounds_delta(seed, tol):
    """Σ|e_p| ≤ tol·|f(x) − f(b)| implies |delta| ≤ tol·|f(x) − f(b)|: the panels' errors add up to delta."""
    model = tanh_mlp(seed=seed)  # float64
    x = 2 * torch.randn(2, 6, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    result = adaptive(model, x, tol=tol, max_steps=4096)
    with torch.no_grad():
        gap = (model(x)[:, 0] - model(torch.zeros_like(x))[:, 0]).abs()
    assert (result.delta.abs() <= tol * gap.clamp_min(1e-12) + 1e-9).all()


def test_the_panels_errors_sum_to_the_completeness_delta():
    path = _Path()
    f = {0.0: 0.0, 0.25: 0.1, 0.5: 0.5, 0.75: 0.9, 1.0: 1.0}
    slope = {0.0: 0.2, 0.25: 1.0, 0.5: 2.0, 0.75: 1.0, 1.0: 0.2}
    for alpha in f:
        path.nodes[alpha] = (torch.tensor([slope[alpha]], dtype=torch.float64), slope[alpha], f[alpha])
    errors = path.panel_errors()
    simpson = float(path.mean_gradient())  # the estimate of ∫ f' dα with diff = 1
    assert sum(errors) == pytest.approx(simpson - (f[1.0] - f[0.0]))
    assert errors[0] == pytest.approx(0.5 / 6 * (0.2 + 4 * 1.0 + 2.0) - 0.5)


def test_the_fewest_worst_panels_are_split():
    assert _fewest_splits([0.1, -0.5, 0.05, 0.2], budget=0.36) == [1]
    assert _fewest_splits([0.1, -0.5, 0.05, 0.2], budget=0.1) == [1, 3, 0]
    assert _fewest_splits([0.01, 0.02], budget=0.1) == []


def test_adaptive_works_on_a_layer_path():
    model = tanh_mlp(seed=3)
    x = torch.randn(3, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    kw = dict(method="layer_integrated_gradients", layer=model[0], target=1, cache=False)
    result = attribute(model, x, n_steps="auto", integration="adaptive", tol=1e-4, **kw)
    reference = attribute(model, x, n_steps=512, **kw)
    torch.testing.assert_close(result.values, reference.values, rtol=1e-3, atol=1e-4)


def test_bad_combinations_are_named():
    model, x = tanh_mlp(), torch.randn(2, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"integration='adaptive'.*n_steps='auto'.*got n_steps=50"):
        attribute(model, x, method="integrated_gradients", integration="adaptive", n_steps=50)
    with pytest.raises(ValueError, match=r"not available for method='layer_conductance'.*integrated_gr"):
        attribute(
            model, x, method="layer_conductance", layer=model[0], integration="adaptive", n_steps="auto"
        )
    with pytest.raises(ValueError, match="adaptive"):  # the unknown-name error lists it
        attribute(model, x, method="integrated_gradients", integration="simpson")
    with pytest.raises(ValueError, match="max_steps must be at least 5"):
        adaptive(model, x, tol=1e-3, max_steps=3)
