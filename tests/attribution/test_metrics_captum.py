"""Captum's infidelity and sensitivity_max, wrapped: same numbers as Captum, quiet, model untouched."""

from __future__ import annotations

import warnings

import pytest
import torch
from captum.attr import InputXGradient, Saliency
from captum.metrics import infidelity as captum_infidelity
from captum.metrics import sensitivity_max as captum_sensitivity_max
from torch import nn

from attr_widgets.attribution._api import attribute
from attr_widgets.attribution._model_state import hook_counts
from attr_widgets.attribution.metrics import infidelity, sensitivity_max

DTYPE = torch.float64


def linear_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Linear(6, 3).to(DTYPE).eval()


def small_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).to(DTYPE).eval()


def inputs(batch: int = 4, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, 6, generator=torch.Generator().manual_seed(seed), dtype=DTYPE)


def test_infidelity_of_the_gradient_of_a_linear_model_is_zero() -> None:
    """f(x) − f(x − I) = Iᵀw for a linear model, so the attribution a = w has infidelity 0."""
    model, x = linear_model(), inputs()
    target = model(x).argmax(1)
    gradient = model.weight[target].detach()
    assert infidelity(model, x, gradient, target=target).abs().max() < 1e-20
    # a = 2w: infidelity = E[(Iᵀw)²] = σ²‖w‖² for I ~ N(0, σ²).
    sigma = 0.1
    many = infidelity(model, x, 2 * gradient, target=target, noise_std=sigma, n_perturb_samples=4000)
    torch.testing.assert_close(many, sigma**2 * gradient.pow(2).sum(1), rtol=0.1, atol=0)


def test_infidelity_equals_captum_with_the_same_perturbations() -> None:
    model, x = small_net(), inputs()
    attribution = attribute(model, x, method="input_x_gradient")
    ours = infidelity(model, x, attribution, noise_std=0.05, n_perturb_samples=7, seed=3)
    generator = torch.Generator().manual_seed(3)

    def perturb(expanded: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        noise = torch.randn(expanded.shape, generator=generator, dtype=DTYPE) * 0.05
        return noise, expanded - noise

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = captum_infidelity(
            model, perturb, x, attribution.values, target=attribution.target, n_perturb_samples=7
        )
    torch.testing.assert_close(ours, reference)
    assert (ours > 0).all()


def test_infidelity_with_a_callable_target_and_normalisation() -> None:
    model, x = linear_model(), inputs()
    margin = lambda out: out[:, 0] - out[:, 1]  # noqa: E731
    exact = (model.weight[0] - model.weight[1]).detach().expand(4, 6)
    assert infidelity(model, x, exact, target=margin).abs().max() < 1e-20
    # normalize=True rescales the attribution optimally, so 3·w is as good as w.
    assert infidelity(model, x, 3 * exact, target=margin, normalize=True).abs().max() < 1e-12


def test_sensitivity_max_of_saliency_on_a_linear_model_is_zero() -> None:
    model, x = linear_model(), inputs()
    assert sensitivity_max(model, x, method="saliency").abs().max() == 0


def test_sensitivity_max_equals_captum_with_the_same_perturbations() -> None:
    """Input × gradient on a linear model changes by δ ⊙ w: Captum and the wrapper see the same δ."""
    model, x = linear_model(), inputs()
    target = model(x).argmax(1)
    ours = sensitivity_max(
        model, x, method="input_x_gradient", perturb_radius=0.1, n_perturb_samples=5, seed=2
    )
    generator = torch.Generator().manual_seed(2)

    def perturb(expanded: torch.Tensor, radius: float) -> torch.Tensor:
        noise = torch.rand(expanded.shape, generator=generator, dtype=DTYPE)
        return expanded + (2 * noise - 1) * radius

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = captum_sensitivity_max(
            InputXGradient(model).attribute,
            x,
            perturb_func=perturb,
            perturb_radius=0.1,
            n_perturb_samples=5,
            target=target,
        )
    torch.testing.assert_close(ours, reference)
    w = model.weight[target].detach()
    bound = 0.1 * w.norm(dim=1) / (x * w).norm(dim=1)  # ‖δ ⊙ w‖ ≤ r‖w‖
    assert (ours > 0).all() and (ours <= bound + 1e-12).all()


def test_metrics_are_quiet_and_leave_the_model_alone() -> None:
    model, x = small_net(), inputs()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    values = Saliency(model).attribute(x.clone().requires_grad_(True), target=0, abs=False).detach()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        infidelity(model, x, values, target=0)
        sensitivity_max(model, x, method="integrated_gradients", n_steps=8, target=0)
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert sum(hook_counts(model).values()) == 0
    assert all(p.grad is None for p in model.parameters())


def test_bad_arguments_are_named() -> None:
    model, x = linear_model(), inputs()
    with pytest.raises(ValueError, match="attributions"):
        infidelity(model, x, torch.ones(4, 1, dtype=DTYPE))
    with pytest.raises(ValueError, match="noise_std"):
        infidelity(model, x, x, noise_std=0.0)
    with pytest.raises(ValueError, match="n_perturb_samples"):
        sensitivity_max(model, x, method="saliency", n_perturb_samples=0)
    with pytest.raises(ValueError, match="perturb_radius"):
        sensitivity_max(model, x, method="saliency", perturb_radius=-1.0)
    with pytest.raises(ValueError, match="target"):
        sensitivity_max(model, x, method="saliency", target=lambda out: out[:, 0])
