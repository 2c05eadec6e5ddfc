"""Captum's other layer methods through the one verb (and layer IG at a layer's input).

Conductance, activation, gradient x activation, internal influence, layer DeepLIFT and layer GradientSHAP.

Each runs Captum's class on the output-selected view of the model (``Scorer.captum_module``), with the
request's target, forward arguments, baselines and step settings; ``attribute_to_layer_input=True``
attributes to the layer's input instead of its output. A tuple-valued layer gives a tuple of tensors (see
``Attribution.values``).
"""

from __future__ import annotations

from typing import Any

import torch

from ._baselines import baseline_name
from ._batching import ChunkRunner
from ._captured_outputs import OutputRows
from ._model_state import quiet_captum
from ._registry import (
    DEEPLIFT_AXIOMS,
    EXPECTED_GRADIENTS_AXIOMS,
    INPUT_X_GRADIENT_AXIOMS,
    LOCAL_NOTE,
    NOT_IN_TABLES,
    register,
)
from ._request import MethodOutput, Request
from ._values import as_tuple, single_or_tuple

LAYER_INPUT_NOTE = "attribute_to_layer_input=True attributes to the layer's input instead of its output."


def fixed_steps(request: Request) -> int:
    """The request's step count; the methods Captum integrates have no ``n_steps="auto"``."""
    if request.n_steps == "auto":
        raise ValueError(
            "n_steps='auto' is available for integrated_gradients and layer_integrated_gradients only; "
            "pass an int (e.g. n_steps=50)."
        )
    return int(request.n_steps)


def captum_rows(request: Request, steps: int, minimum_steps: int = 1) -> int | None:
    """Captum's ``internal_batch_size`` from our memory plan (None: everything in one call).

    Captum evaluates whole steps of the batch, at least ``minimum_steps`` at a time (two for the finite
    differences of conductance); below that it only warns and raises the size itself.
    """
    rows = request.rows(steps * request.batch)
    if rows >= steps * request.batch:
        return None
    return max(rows, minimum_steps * request.batch)


def input_space_baseline(request: Request) -> torch.Tensor:
    """The input-shaped baseline Captum's layer methods interpolate from (a float tensor, or token ids)."""
    from ._methods_perturbation import perturbation_baseline

    baseline = perturbation_baseline(request)
    if not isinstance(baseline, torch.Tensor):
        baseline = torch.full_like(request.inputs, baseline)
    return baseline


def run_captum(
    request: Request,
    class_name: str,
    init: dict[str, Any] | None = None,
    output_rows: OutputRows | None = None,
    **attribute_options: Any,
) -> Any:
    """``captum.attr.<class_name>(view, layer, **init).attribute(inputs, ...)`` on the request.

    ``output_rows``: records (and checks) the selected outputs of Captum's forwards (``_captured_outputs``).
    """
    import captum.attr

    if "DeepLift" in class_name:  # per-call state on activation modules: reused ones made distinct
        from ._distinct_activations import captum_module_for_hooks

        module, layer = captum_module_for_hooks(request)
    else:
        module, layer = request.scorer.captum_module(), request.layer
    # Registered before Captum's own hooks, so that it sees the whole batch Captum runs.
    handle = None if output_rows is None else output_rows.attached(module)
    explainer = getattr(captum.attr, class_name)(module, layer, **(init or {}))
    try:
        with quiet_captum():
            return explainer.attribute(
                request.inputs,
                additional_forward_args=request.scorer.captum_extra_args(),
                **attribute_options,
            )
    finally:
        if handle is not None:
            handle.remove()


def layer_values(raw: Any) -> Any:
    """Captum's result as we return it: one tensor, or a tuple for several (a 1-tuple is unwrapped)."""
    return single_or_tuple(as_tuple(raw))


def _with_chunks(request: Request, steps: int, minimum_steps: int, run: Any) -> Any:
    rows = captum_rows(request, steps, minimum_steps)
    if rows is None:
        return run(None)
    return ChunkRunner(rows).call(run)


@register(
    "layer_conductance",
    family="layer",
    description="Layer conductance (Dhamdhere, Sundararajan & Yan, How Important Is a Neuron?, 2018): the "
    "flow of Integrated Gradients through each unit of the layer; sums to f(x) − f(b) over the layer. "
    + LAYER_INPUT_NOTE,
    options={"attribute_to_layer_input": False, "grad_kwargs": None},
    axioms=NOT_IN_TABLES,
    has_delta=True,
    needs_layer=True,
    uses_baseline=True,
    path=True,
    captum="LayerConductance",
)
def layer_conductance(request: Request) -> MethodOutput:
    """Captum's LayerConductance (Riemann or Gauss-Legendre steps, as ``integration``)."""
    baselines = request.input_baseline()
    # Conductance takes finite differences between its points: at least two steps per chunk.
    raw, steps = _path_layer_method(request, "LayerConductance", baselines, minimum_steps=2)
    scores = request.baseline_scores(baselines)
    return MethodOutput(layer_values(raw), scores, baseline_name(request.baseline), steps)


def _path_layer_method(
    request: Request, class_name: str, baselines: torch.Tensor, minimum_steps: int
) -> tuple[Any, int]:
    """(Captum's raw result, the steps) for a layer method integrated from the baseline, chunked in steps."""
    steps = fixed_steps(request)
    raw = _with_chunks(
        request,
        steps,
        minimum_steps,
        lambda rows: run_captum(
            request,
            class_name,
            baselines=baselines,
            target=request.scorer.captum_target(),
            n_steps=steps,
            method=request.integration,
            internal_batch_size=rows,
            attribute_to_layer_input=bool(request.options["attribute_to_layer_input"]),
            grad_kwargs=request.options["grad_kwargs"],
        ),
    )
    return raw, steps


@register(
    "layer_activation",
    family="layer",
    description="The layer's activations themselves (no target: a view of what the layer computes). "
    + LAYER_INPUT_NOTE,
    options={"attribute_to_layer_input": False},
    axioms=NOT_IN_TABLES,
    needs_layer=True,
    integer_inputs=True,
    single_pass=True,
    captum="LayerActivation",
)
def layer_activation(request: Request) -> MethodOutput:
    """The activations the first forward captured; Captum's LayerActivation when the batch is chunked."""
    if request.layer_leaves is not None:
        return MethodOutput(single_or_tuple(tuple(leaf.detach() for leaf in request.layer_leaves)))
    raw = run_captum(
        request,
        "LayerActivation",
        attribute_to_layer_input=bool(request.options["attribute_to_layer_input"]),
    )
    return MethodOutput(layer_values(raw))


@register(
    "layer_gradient_x_activation",
    family="layer",
    description="Layer gradient x activation: the layer's activations times the gradient of the target "
    "score with respect to them (after Shrikumar et al., Learning Important Features Through Propagating "
    "Activation Differences, 2017); multiply_by_inputs=False gives the layer gradient alone. "
    + LAYER_INPUT_NOTE,
    options={"attribute_to_layer_input": False, "multiply_by_inputs": True, "grad_kwargs": None},
    axioms=INPUT_X_GRADIENT_AXIOMS,
    needs_layer=True,
    integer_inputs=True,
    single_pass=True,
    captum="LayerGradientXActivation",
)
def layer_gradient_x_activation(request: Request) -> MethodOutput:
    """Activation × gradient from the first forward's graph; Captum's class when the batch is chunked."""
    grads = request.first_pass_layer_gradients(**(request.options["grad_kwargs"] or {}))
    if grads is not None and request.layer_leaves is not None:
        if not request.options["multiply_by_inputs"]:
            return MethodOutput(single_or_tuple(grads))
        products = tuple(leaf.detach() * grad for leaf, grad in zip(request.layer_leaves, grads, strict=True))
        return MethodOutput(single_or_tuple(products))
    raw = run_captum(
        request,
        "LayerGradientXActivation",
        init={"multiply_by_inputs": bool(request.options["multiply_by_inputs"])},
        target=request.scorer.captum_target(),
        attribute_to_layer_input=bool(request.options["attribute_to_layer_input"]),
        grad_kwargs=request.options["grad_kwargs"],
    )
    return MethodOutput(layer_values(raw))


@register(
    "internal_influence",
    family="layer",
    description="Internal influence (Leino et al., Influence-Directed Explanations for Deep Convolutional "
    "Networks, 2018): the gradient of the target score with respect to the layer, averaged along the path "
    "from the baseline input to the input. " + LAYER_INPUT_NOTE,
    options={"attribute_to_layer_input": False, "grad_kwargs": None},
    axioms=NOT_IN_TABLES,
    needs_layer=True,
    uses_baseline=True,
    path=True,
    captum="InternalInfluence",
)
def internal_influence(request: Request) -> MethodOutput:
    """Captum's InternalInfluence."""
    raw, steps = _path_layer_method(request, "InternalInfluence", request.input_baseline(), minimum_steps=1)
    return MethodOutput(layer_values(raw), None, baseline_name(request.baseline), steps)


@register(
    "layer_deeplift",
    family="layer",
    description="Layer DeepLIFT (Shrikumar et al., Learning Important Features Through Propagating "
    "Activation Differences, 2017): DeepLIFT's Rescale multipliers times the layer's change from the "
    "baseline; sums to f(x) − f(b). " + LAYER_INPUT_NOTE + " " + LOCAL_NOTE,
    options={"attribute_to_layer_input": False, "multiply_by_inputs": True},
    axioms=DEEPLIFT_AXIOMS,
    has_delta=True,
    needs_layer=True,
    uses_baseline=True,
    captum="LayerDeepLift",
    outputs_from_method=True,
)
def layer_deeplift(request: Request) -> MethodOutput:
    """Captum's LayerDeepLift."""
    global_ = bool(request.options["multiply_by_inputs"])
    baselines = request.input_baseline()
    # Captum's one forward on [inputs; baselines] gives f(x) and f(baseline): no forward of ours for them.
    rows = OutputRows(request)
    raw = run_captum(
        request,
        "LayerDeepLift",
        init={"multiply_by_inputs": global_},
        output_rows=rows,
        baselines=baselines,
        target=request.scorer.captum_target(),
        attribute_to_layer_input=bool(request.options["attribute_to_layer_input"]),
    )
    outputs, scores = rows.halves()
    if scores is None:
        scores = request.baseline_scores(baselines)
    name = baseline_name(request.baseline)
    return MethodOutput(layer_values(raw), scores, name, complete=global_, outputs=outputs)


@register(
    "layer_gradient_shap",
    family="layer",
    description="Layer GradientSHAP (Lundberg & Lee, A Unified Approach to Interpreting Model Predictions, "
    "2017): expected gradients at the layer, over random baselines from a distribution and random points "
    "on the path. " + LAYER_INPUT_NOTE + " " + LOCAL_NOTE,
    options={
        "n_samples": 25,
        "stdevs": 0.0,
        "attribute_to_layer_input": False,
        "multiply_by_inputs": True,
    },
    axioms=EXPECTED_GRADIENTS_AXIOMS,
    has_delta=True,
    needs_layer=True,
    uses_baseline=True,
    captum="LayerGradientShap",
)
def layer_gradient_shap(request: Request) -> MethodOutput:
    """Captum's LayerGradientShap, seeded (Captum draws from the global RNGs; they are restored)."""
    from ._methods_path import baseline_distribution, expected_baseline_scores

    global_ = bool(request.options["multiply_by_inputs"])
    dist = baseline_distribution(request)
    with request.seeded():
        raw = run_captum(
            request,
            "LayerGradientShap",
            init={"multiply_by_inputs": global_},
            baselines=dist,
            n_samples=int(request.options["n_samples"]),
            stdevs=float(request.options["stdevs"]),
            target=request.scorer.captum_target(),
            attribute_to_layer_input=bool(request.options["attribute_to_layer_input"]),
        )
    scores = expected_baseline_scores(request, dist)
    return MethodOutput(layer_values(raw), scores, baseline_name(request.baseline), complete=global_)


def layer_ig_at_layer_input(request: Request) -> MethodOutput:
    """Layer IG attributed to the layer's input: Captum's LayerIntegratedGradients (prefix run per step)."""
    steps = fixed_steps(request)
    baselines = input_space_baseline(request)
    global_ = bool(request.options["multiply_by_inputs"])
    raw = _with_chunks(
        request,
        steps,
        1,
        lambda rows: run_captum(
            request,
            "LayerIntegratedGradients",
            init={"multiply_by_inputs": global_},
            baselines=baselines,
            target=request.scorer.captum_target(),
            n_steps=steps,
            method=request.integration,
            internal_batch_size=rows,
            attribute_to_layer_input=True,
            grad_kwargs=request.options["grad_kwargs"],
        ),
    )
    scores = request.baseline_scores(baselines)
    return MethodOutput(
        layer_values(raw),
        scores,
        baseline_name(request.baseline),
        steps,
        info={"strategy": "captum"},
        complete=global_,
    )
