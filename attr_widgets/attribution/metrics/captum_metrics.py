"""Captum's infidelity (Yeh et al.) and max-sensitivity, wrapped: seeded, quiet, the model left untouched.

- ``infidelity = E_I[(Iᵀ·a − (f(x) − f(x − I)))²]`` over random perturbations ``I``: how well the
  attribution, read as a linear model, predicts the effect of perturbing the input (lower is better).
- ``sensitivity_max = max_{‖δ‖∞ ≤ r} ‖A(x + δ) − A(x)‖ / ‖A(x)‖`` estimated over random ``δ``: how much the
  explanation changes under small input changes (lower is better).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .._api import attribute
from .._model_state import model_device, preserved_model, quiet_captum
from .._outputs import OutputSelector, SelectedOutput, resolve_target, select_output
from .._validation import check_inputs, check_model
from ._common import check_attributions, check_positive_int


def _generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


def _resolved_target(model: nn.Module, x: torch.Tensor, target: Any, output: OutputSelector) -> Any:
    with torch.no_grad():
        logits = select_output(model(x), output, batch_size=x.shape[0])
    return resolve_target(target, logits)


def infidelity(
    model: nn.Module,
    inputs: torch.Tensor,
    attributions: Any,
    *,
    target: Any = None,
    noise_std: float | None = None,
    n_perturb_samples: int = 10,
    normalize: bool = False,
    seed: int = 0,
    output: OutputSelector = None,
) -> torch.Tensor:
    """Infidelity ``[B]`` of input-shaped ``attributions`` under Gaussian perturbations (Captum's metric).

    Args:
        model: the network (used in its current mode; never modified).
        inputs: a float batch ``[B, ...]``.
        attributions: a tensor (or an ``Attribution``) with the inputs' shape.
        target: None (the top class of each example), an int, a LongTensor ``[B]``, or a callable.
        noise_std: standard deviation of the perturbation ``I ~ N(0, σ²)``; None: a tenth of the inputs'
            standard deviation.
        n_perturb_samples: perturbations per example.
        normalize: Captum's option: rescale the attributions by the factor that minimises infidelity.
        seed: seeds the perturbations.
        output: output selector, as in ``attribute``.
    """
    check_model(model)
    samples = check_positive_int("n_perturb_samples", n_perturb_samples)
    x = check_inputs(inputs, model_device(model))
    values = check_attributions(attributions, x, exact=True)
    sigma = float(x.std()) / 10 if noise_std is None else float(noise_std)
    if not sigma > 0:
        raise ValueError(f"noise_std must be positive, got {noise_std!r}.")
    generator = _generator(seed, x.device)

    def perturb(expanded: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        noise = torch.randn(expanded.shape, generator=generator, device=x.device, dtype=x.dtype) * sigma
        return noise, expanded - noise

    from captum.metrics import infidelity as captum_infidelity

    with preserved_model(model), torch.no_grad(), quiet_captum():
        resolved = _resolved_target(model, x, target, output)
        callable_target = not isinstance(resolved, torch.Tensor)
        forward = SelectedOutput(model, output, resolved if callable_target else None)  # type: ignore[arg-type]
        scores = captum_infidelity(
            forward,
            perturb,
            x,
            values,
            target=None if callable_target else resolved,
            n_perturb_samples=samples,
            normalize=normalize,
        )
    return scores.detach()


def sensitivity_max(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    method: str,
    target: Any = None,
    perturb_radius: float = 0.02,
    n_perturb_samples: int = 10,
    norm_ord: str = "fro",
    seed: int = 0,
    output: OutputSelector = None,
    **attribute_options: Any,
) -> torch.Tensor:
    """Max-sensitivity ``[B]`` of ``attribute(model, x, method=...)`` over ``δ`` uniform in ``‖δ‖∞ ≤ r``.

    Args:
        model: the network (never modified).
        inputs: a float batch ``[B, ...]``.
        method: an ``attribute`` method name; ``attribute_options`` are passed through.
        target: None (the top class of each unperturbed example, kept for the perturbed ones), an int or a
            LongTensor ``[B]``.
        perturb_radius: ``r``, the L∞ radius of the perturbations.
        n_perturb_samples: perturbations per example.
        norm_ord: the norm of the explanation difference (Captum's ``norm_ord``).
        seed: seeds the perturbations (and is passed to ``attribute`` for stochastic methods).
        output: output selector, as in ``attribute``.
        **attribute_options: passed to every ``attribute`` call.
    """
    check_model(model)
    samples = check_positive_int("n_perturb_samples", n_perturb_samples)
    if not perturb_radius > 0:
        raise ValueError(f"perturb_radius must be positive, got {perturb_radius!r}.")
    x = check_inputs(inputs, model_device(model))
    generator = _generator(seed, x.device)
    options = {"cache": False, "seed": seed, **attribute_options}

    def perturb(expanded: torch.Tensor, radius: float) -> torch.Tensor:
        noise = torch.rand(expanded.shape, generator=generator, device=x.device, dtype=x.dtype)
        return expanded + (2 * noise - 1) * radius

    def explain(batch: Any, target: torch.Tensor) -> Any:
        # Captum passes the unperturbed inputs as a 1-tuple and expects a tuple back for them.
        x_batch = batch[0] if isinstance(batch, tuple) else batch
        values = attribute(model, x_batch, method=method, target=target, output=output, **options).values
        return (values,) if isinstance(batch, tuple) else values

    from captum.metrics import sensitivity_max as captum_sensitivity_max

    with preserved_model(model), quiet_captum():
        resolved = _resolved_target(model, x, target, output)
        if not isinstance(resolved, torch.Tensor):
            raise ValueError("target: sensitivity_max needs class targets (None, an int or a LongTensor).")
        scores = captum_sensitivity_max(
            explain,
            x,
            perturb_func=perturb,
            perturb_radius=float(perturb_radius),
            n_perturb_samples=samples,
            norm_ord=norm_ord,
            target=resolved,
        )
    return scores.detach()
