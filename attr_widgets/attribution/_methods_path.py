"""Reference-based methods: Integrated Gradients, GradientSHAP (expected gradients), DeepLIFT (-SHAP)."""

from __future__ import annotations

from typing import Any

import torch

from ._adaptive import ScoredGradientFn, adaptive_integrated_gradients
from ._baselines import baseline_name
from ._captured_outputs import OutputRows
from ._distinct_activations import captum_module_for_hooks
from ._integrated import GradientFn, PathResult, integrated_gradients, integrated_gradients_to_tolerance
from ._model_state import quiet_captum
from ._quadrature import ADAPTIVE, min_steps
from ._registry import DEEPLIFT_AXIOMS, EXPECTED_GRADIENTS_AXIOMS, IG_AXIOMS, LOCAL_NOTE, register
from ._request import MethodOutput, Request
from ._scorer import input_gradients, input_gradients_and_scores

# First level of n_steps="auto" per rule: small enough to stop early on easy models, large enough that a
# delta that happens to vanish on a coarse rule is unlikely.
AUTO_START = {
    "gausslegendre": 4,
    "riemann_left": 4,
    "riemann_right": 4,
    "riemann_middle": 3,
    "riemann_trapezoid": 3,
}


@register(
    "integrated_gradients",
    family="path",
    description="Integrated Gradients (Sundararajan et al.): (x − b)·∫∇f(b + α(x − b))dα, with our "
    "quadrature "
    "(weights sum to 1) and n_steps='auto' refinement to |delta| ≤ tol·|f(x) − f(b)|. " + LOCAL_NOTE,
    options={"tol": 1e-3, "max_steps": 1024, "multiply_by_inputs": True},
    axioms=IG_AXIOMS,
    has_delta=True,
    uses_baseline=True,
    path=True,
    adaptive=True,
    captum="IntegratedGradients",
)
def run_integrated_gradients(request: Request) -> MethodOutput:
    """IG with a fixed number of steps or refined to a tolerance."""
    baselines = request.input_baseline()
    f_baseline = request.baseline_scores(baselines)
    result = path_integral(
        request,
        lambda p, r: input_gradients(request.scorer, p, r),
        request.inputs,
        baselines,
        f_baseline,
        scored_fn=lambda p, r: input_gradients_and_scores(request.scorer, p, r),
    )
    local = not request.options["multiply_by_inputs"]
    return MethodOutput(
        result.gradients if local else result.values,
        f_baseline,
        baseline_name(request.baseline),
        int(result.steps.max()),
        info={"steps": result.steps, "evaluations": result.evaluations},
        complete=not local,
    )


def path_integral(
    request: Request,
    gradient_fn: GradientFn,
    ends: torch.Tensor,
    starts: torch.Tensor,
    f_start: torch.Tensor,
    *,
    scored_fn: ScoredGradientFn,
) -> PathResult:
    """IG from ``starts`` to ``ends`` with the request's n_steps / integration / tol settings.

    ``scored_fn`` is ``gradient_fn`` that also returns f at the points (integration="adaptive" reads it).
    """
    rule = request.integration
    baselines = starts
    if rule == ADAPTIVE:  # n_steps="auto" only (checked in attribute())
        return adaptive_integrated_gradients(
            scored_fn,
            ends,
            baselines,
            tol=_positive_tol(request),
            max_steps=int(request.options["max_steps"]),
            runner=request.runner(int(request.options["max_steps"]) * request.batch),
        )
    if request.n_steps == "auto":
        tol, max_steps = _positive_tol(request), int(request.options["max_steps"])
        if max_steps < min_steps(rule):
            raise ValueError(f"max_steps must be at least {min_steps(rule)}, got {max_steps}.")
        start = min(AUTO_START[rule], max_steps)
        result = integrated_gradients_to_tolerance(
            gradient_fn,
            ends,
            baselines,
            rule=rule,
            gap=request.outputs - f_start,  # type: ignore[operator]  # path methods run the first forward
            tol=tol,
            max_steps=max_steps,
            start=start,
            runner=request.runner(max_steps * request.batch),
        )
    else:
        n_steps = int(request.n_steps)
        result = integrated_gradients(
            gradient_fn,
            ends,
            baselines,
            n_steps=n_steps,
            rule=rule,
            runner=request.runner(n_steps * request.batch),
        )
    return result


def _positive_tol(request: Request) -> float:
    tol = float(request.options["tol"])
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}.")
    return tol


def baseline_distribution(request: Request) -> torch.Tensor:
    """Baselines ``[M, ...]`` to sample from (GradientSHAP / DeepLIFT-SHAP)."""
    baseline = request.baseline
    example_shape = request.inputs.shape[1:]
    if isinstance(baseline, torch.Tensor):
        dist = baseline.detach().to(request.device, request.inputs.dtype)
        if dist.shape == example_shape:
            dist = dist.unsqueeze(0)
        if dist.shape[1:] != example_shape:
            raise ValueError(
                "baseline: a baseline distribution must have shape [M, "
                f"{', '.join(map(str, example_shape))}], "
                f"got {tuple(dist.shape)}."
            )
        return dist
    if baseline == "blur":
        raise ValueError(
            "baseline='blur' is per example; GradientSHAP/DeepLIFT-SHAP need a distribution [M, ...]."
        )
    dist = request.input_baseline()
    # zeros and mean are the same for every example: one row is the distribution.
    return dist[:1] if baseline in ("zeros", "mean") else dist


def expected_baseline_scores(request: Request, dist: torch.Tensor) -> torch.Tensor | None:
    """E_b f(b) over the distribution, per example (None when batched forward kwargs make it ill-defined)."""
    scorer = request.scorer
    if scorer.batched_kwargs:
        return None
    with torch.no_grad():
        logits = scorer.logits(dist)
        if scorer.callable_target:
            return scorer.target(logits).reshape(-1).mean().expand(request.batch).clone()  # type: ignore
        return logits[:, scorer.target].mean(dim=0)  # type: ignore[index]


def captum_with_baselines(
    request: Request, explainer: Any, baselines: torch.Tensor, **options: Any
) -> torch.Tensor:
    """``explainer.attribute`` on a copy of the inputs with the request's target and forward arguments."""
    with quiet_captum():
        return explainer.attribute(
            request.inputs.clone(),
            baselines=baselines,
            target=request.scorer.captum_target(),
            additional_forward_args=request.scorer.captum_extra_args(),
            **options,
        )


@register(
    "gradient_shap",
    family="path",
    description="GradientSHAP / expected gradients (Erion et al., Lundberg & Lee): IG averaged over random "
    "baselines from a distribution and random points on the path. " + LOCAL_NOTE,
    options={"n_samples": 25, "stdevs": 0.0, "multiply_by_inputs": True},
    axioms=EXPECTED_GRADIENTS_AXIOMS,
    has_delta=True,
    uses_baseline=True,
    captum="GradientShap",
)
def gradient_shap(request: Request) -> MethodOutput:
    """Captum's GradientShap, seeded."""
    from captum.attr import GradientShap

    from ._multi_input import per_input_call

    dist = baseline_distribution(request)
    global_ = bool(request.options["multiply_by_inputs"])
    # A multi-input model: Captum's call on the tuple itself, so its random draws are Captum's.
    forward, inputs, baselines, repack = per_input_call(request, dist)
    explainer = GradientShap(forward, multiply_by_inputs=global_)
    with request.seeded(), quiet_captum():
        values = explainer.attribute(
            inputs,
            baselines=baselines,
            target=request.scorer.captum_target(),
            additional_forward_args=request.scorer.captum_extra_args(),
            n_samples=int(request.options["n_samples"]),
            stdevs=float(request.options["stdevs"]),
        )
    values = repack(values)
    scores = expected_baseline_scores(request, dist)
    return MethodOutput(values, scores, baseline_name(request.baseline), complete=global_)


@register(
    "deeplift",
    family="path",
    description="DeepLIFT with the Rescale rule (Shrikumar et al.): backpropagation of discrete gradients "
    "relative to a baseline; needs nonlinearities as modules (a module called several times, as in "
    "torchvision's ResNets, runs as one module per call). " + LOCAL_NOTE,
    options={"eps": 1e-10, "multiply_by_inputs": True},
    axioms=DEEPLIFT_AXIOMS,
    has_delta=True,
    uses_baseline=True,
    captum="DeepLift",
    outputs_from_method=True,
)
def deeplift(request: Request) -> MethodOutput:
    """Captum's DeepLift (Rescale)."""
    from captum.attr import DeepLift

    baselines = request.input_baseline()
    global_ = bool(request.options["multiply_by_inputs"])
    # Reused activation modules (torchvision's ResNets) run as one module per call site, weights shared.
    module, _ = captum_module_for_hooks(request)
    explainer = DeepLift(module, multiply_by_inputs=global_, eps=float(request.options["eps"]))
    # Captum runs the model once on [inputs; baselines]: its halves are f(x) and f(baseline).
    rows = OutputRows(request)
    handle = rows.attached(module)
    try:
        values = captum_with_baselines(request, explainer, baselines)
    finally:
        handle.remove()
    outputs, scores = rows.halves()
    if scores is None:
        scores = request.baseline_scores(baselines)
    return MethodOutput(values, scores, baseline_name(request.baseline), complete=global_, outputs=outputs)


@register(
    "deeplift_shap",
    family="path",
    description="DeepLIFT-SHAP: DeepLIFT averaged over a baseline distribution (Lundberg & Lee). "
    + LOCAL_NOTE,
    options={"multiply_by_inputs": True},
    axioms=DEEPLIFT_AXIOMS,
    has_delta=True,
    uses_baseline=True,
    captum="DeepLiftShap",
)
def deeplift_shap(request: Request) -> MethodOutput:
    """Captum's DeepLiftShap over the baseline distribution."""
    from captum.attr import DeepLiftShap

    dist = baseline_distribution(request)
    if dist.shape[0] < 2:
        # Captum requires at least two baselines; a repeated one gives the same average.
        dist = dist.expand(2, *dist.shape[1:]).contiguous()
    global_ = bool(request.options["multiply_by_inputs"])
    explainer = DeepLiftShap(captum_module_for_hooks(request)[0], multiply_by_inputs=global_)
    values = captum_with_baselines(request, explainer, dist)
    scores = expected_baseline_scores(request, dist)
    return MethodOutput(values, scores, baseline_name(request.baseline), complete=global_)
