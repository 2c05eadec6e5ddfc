"""Quadrature rules: exact on linear models (Captum's trapezoid is not), Gauss-Legendre degree, refinement."""

import numpy as np
import pytest
import torch
from attr_test_models import tanh_mlp
from captum.attr import IntegratedGradients
from torch import nn

import attr_widgets.attribution as A
from attr_widgets.attribution import _quadrature as Q
from attr_widgets.attribution import attribute


def linear_model(features: int = 5) -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(features, 3).double().eval()


@pytest.mark.parametrize("rule", Q.RULES)
@pytest.mark.parametrize("n", [2, 3, 7, 50])
def test_weights_sum_to_one_and_nodes_in_unit_interval(rule, n):
    alphas, weights = Q.nodes(rule, n)
    assert len(alphas) == len(weights) == n
    assert abs(weights.sum() - 1.0) < 1e-13
    assert alphas.min() >= 0.0 and alphas.max() <= 1.0


@pytest.mark.parametrize("n", [2, 5, 10, 50])
def test_captum_trapezoid_weights_sum_to_n_minus_one_over_n(n):
    assert abs(Q.captum_trapezoid_weights(n).sum() - (n - 1) / n) < 1e-12


@pytest.mark.parametrize("n", [2, 5, 10])
def test_captum_trapezoid_is_biased_on_a_linear_model_and_ours_is_exact(n):
    model, x = linear_model(), torch.randn(4, 5, dtype=torch.float64)
    exact = x * model.weight[1].detach()  # IG of w·x + c with the zero baseline
    theirs = IntegratedGradients(model).attribute(x, target=1, n_steps=n, method="riemann_trapezoid")
    torch.testing.assert_close(theirs, exact * (n - 1) / n)
    ours = attribute(
        model, x, method="integrated_gradients", target=1, n_steps=n, integration="riemann_trapezoid"
    )
    torch.testing.assert_close(ours.values, exact)
    assert ours.delta.abs().max() < 1e-12


@pytest.mark.parametrize("rule", Q.RULES)
@pytest.mark.parametrize("n", [2, 3, 16])
def test_every_rule_integrates_a_linear_model_exactly(rule, n):
    model, x = linear_model(), torch.randn(3, 5, dtype=torch.float64)
    baseline = torch.randn(5, dtype=torch.float64)
    result = attribute(model, x, method="integrated_gradients", target=2, n_steps=n, integration=rule,
                       baseline=baseline)  # fmt: skip
    torch.testing.assert_close(result.values, (x - baseline) * model.weight[2].detach())
    assert result.delta.abs().max() < 1e-12


class Power(nn.Module):
    """f(x) = (w·x)^k: along the path from 0 the integrand is a polynomial of degree k − 1 in α."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k
        self.w = nn.Parameter(torch.tensor([0.7, -0.4, 1.1], dtype=torch.float64))

    def forward(self, x):
        return ((x @ self.w) ** self.k).unsqueeze(1)


@pytest.mark.parametrize("k", [2, 4, 6, 8])
def test_gauss_legendre_is_exact_up_to_its_degree(k):
    # n Gauss-Legendre nodes integrate polynomials of degree 2n − 1 exactly, fewer nodes do not.
    x = torch.tensor([[1.0, 0.5, -0.8], [0.3, 1.2, 0.9]], dtype=torch.float64)
    model = Power(k)
    need = int(np.ceil(k / 2))  # degree k − 1 ≤ 2n − 1
    exact = attribute(model, x, method="integrated_gradients", target=0, n_steps=need)
    assert exact.relative_delta.max() < 1e-12
    short = (
        attribute(model, x, method="integrated_gradients", target=0, n_steps=need - 1) if need > 1 else None
    )
    if short is not None:
        assert short.relative_delta.max() > 1e-6


def test_gauss_legendre_converges_faster_than_riemann_on_a_smooth_model():
    model, x = tanh_mlp(), torch.randn(4, 6, dtype=torch.float64)
    curves = A.convergence(
        model, x, rules=("gausslegendre", "riemann_right", "riemann_middle"), steps=(2, 4, 8, 16)
    )
    gl, right, middle = (
        curves[r]["relative_delta"] for r in ("gausslegendre", "riemann_right", "riemann_middle")
    )
    assert gl[-1] < 1e-8 < middle[-1] < right[-1]
    assert all(later < earlier for earlier, later in zip(gl, gl[1:], strict=False))
    # Riemann right is first order: doubling n roughly halves the error.
    assert 1.6 < right[-2] / right[-1] < 2.4
    assert curves["gausslegendre"]["n_steps"] == [2, 4, 8, 16]


def test_convergence_skips_steps_below_a_rules_minimum_and_checks_arguments():
    model, x = tanh_mlp(), torch.randn(2, 6, dtype=torch.float64)
    curves = A.convergence(model, x, rules=("riemann_trapezoid",), steps=(1, 2, 4))
    assert curves["riemann_trapezoid"]["n_steps"] == [2, 4]
    with pytest.raises(ValueError, match="path methods"):
        A.convergence(model, x, method="saliency")
    with pytest.raises(TypeError, match="n_steps"):
        A.convergence(model, x, n_steps=3)


@pytest.mark.parametrize("rule", ["riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"])
def test_nested_refinement_levels_are_the_fixed_rules(rule):
    # The nodes accumulated up to each level, with the level's group weights, are exactly nodes(rule, n).
    seen_alphas, seen_groups = [], []
    for level, refinement in zip(range(4), Q.refinements(rule, Q.min_steps(rule) + 1), strict=False):
        seen_alphas.extend(refinement.new_alphas)
        seen_groups.extend(refinement.new_groups)
        weights = refinement.group_weights[np.array(seen_groups)]
        order = np.argsort(seen_alphas)
        alphas, expected = Q.nodes(rule, refinement.n)
        np.testing.assert_allclose(np.array(seen_alphas)[order], alphas, atol=1e-14)
        np.testing.assert_allclose(weights[order], expected, atol=1e-14)
        assert len(set(np.round(seen_alphas, 12))) == len(seen_alphas), f"level {level} recomputed a node"


@pytest.mark.parametrize("rule", Q.RULES)
def test_auto_steps_reach_the_tolerance_and_equal_the_fixed_rule(rule):
    model, x = tanh_mlp(), torch.randn(5, 6, dtype=torch.float64)
    # First-order rules (left/right) need ~1/tol nodes; give them a looser tolerance.
    tol = 1e-3 if rule in ("riemann_left", "riemann_right") else 1e-5
    auto = attribute(model, x, method="integrated_gradients", n_steps="auto", integration=rule, tol=tol,
                     max_steps=4096)  # fmt: skip
    assert auto.relative_delta.max() <= tol
    steps = auto.info["steps"]
    assert auto.n_steps == int(steps.max())
    for example in range(5):
        one = x[example : example + 1]
        n = int(steps[example])
        fixed = attribute(model, one, method="integrated_gradients", n_steps=n, integration=rule)
        torch.testing.assert_close(auto.values[example : example + 1], fixed.values)
    if rule != "gausslegendre":
        # Nested rules reuse every gradient: evaluations equal the final number of nodes.
        assert torch.equal(auto.info["evaluations"], steps)


def test_auto_on_a_smooth_model_needs_at_most_a_third_of_captums_50_steps():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 32), nn.GELU(), nn.Linear(32, 4)).eval()
    x = torch.randn(8, 16)
    auto = attribute(model, x, method="integrated_gradients", n_steps="auto", tol=1e-3)
    assert auto.relative_delta.max() <= 1e-3
    assert auto.info["evaluations"].max() <= 50 // 3


def test_auto_stops_at_max_steps_and_reports_it():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 3)).double().eval()
    x = torch.randn(3, 6, dtype=torch.float64)
    result = attribute(model, x, method="integrated_gradients", n_steps="auto", tol=1e-12, max_steps=16,
                       integration="riemann_trapezoid")  # fmt: skip
    assert result.n_steps <= 16 and int(result.info["steps"].max()) <= 16
    with pytest.raises(ValueError, match="tol must be positive"):
        attribute(model, x, method="integrated_gradients", n_steps="auto", tol=0.0)
