"""Neuron attribution: how the input features drive one unit of a layer (Captum's neuron methods).

``neuron=`` selects the unit: an index tuple into the layer's output without the batch dim (an int for a flat
layer; slices are summed, as in Captum), or ``callable(layer_output) -> Tensor[B]``. The attributions are
input-shaped; ``target=`` matters only for neuron conductance, whose path runs through the neuron to the
target score. ``attribute_to_neuron_input=True`` selects the unit in the layer's input instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ._baselines import baseline_name
from ._registry import (
    DEEPLIFT_AXIOMS,
    EXPECTED_GRADIENTS_AXIOMS,
    GRADIENT_AXIOMS,
    GUIDED_BACKPROP_AXIOMS,
    IG_AXIOMS,
    LOCAL_NOTE,
    NOT_IN_TABLES,
    register,
)
from ._request import MethodOutput, Request

NEURON_NOTE = (
    "neuron= selects the unit: an index tuple into the layer's output (without the batch dim) or a "
    "callable(layer_output) -> Tensor[B]."
)
_NEURON_OPTIONS = {"neuron": None, "attribute_to_neuron_input": False}


def neuron_selector(request: Request, method: str) -> int | tuple[Any, ...] | Callable[..., Any]:
    """The ``neuron=`` option as Captum's ``neuron_selector``, with errors naming ``neuron``."""
    neuron = request.options["neuron"]
    if neuron is None:
        raise ValueError(f"method={method!r} needs neuron=: {NEURON_NOTE}")
    if callable(neuron):
        return neuron
    if isinstance(neuron, (int, np.integer)) and not isinstance(neuron, (bool, np.bool_)):
        return int(neuron)
    if isinstance(neuron, (tuple, list)) and all(
        isinstance(i, slice) or (isinstance(i, (int, np.integer)) and not isinstance(i, bool)) for i in neuron
    ):
        return tuple(i if isinstance(i, slice) else int(i) for i in neuron)
    raise TypeError(f"neuron must be an int, a tuple of ints / slices or a callable, got {neuron!r}.")


def run_neuron(
    request: Request, name: str, class_name: str, init: dict[str, Any] | None = None, **options: Any
) -> torch.Tensor:
    """``captum.attr.<class_name>(view, layer).attribute(inputs, neuron_selector, ...)``, errors explained."""
    from ._methods_layer_family import run_captum

    selector = neuron_selector(request, name)
    try:
        return run_captum(
            request,
            class_name,
            init,
            neuron_selector=selector,
            attribute_to_neuron_input=bool(request.options["attribute_to_neuron_input"]),
            **options,
        )
    except IndexError as error:
        raise ValueError(
            f"neuron={request.options['neuron']!r} is not an index into the layer's "
            f"{'input' if request.options['attribute_to_neuron_input'] else 'output'} (without the batch "
            f"dim): {error}"
        ) from error


@register(
    "neuron_gradient",
    family="neuron",
    description="Gradient of one neuron's activation with respect to the input (after Simonyan, Vedaldi & "
    "Zisserman, Deep Inside Convolutional Networks, 2014). " + NEURON_NOTE,
    options=_NEURON_OPTIONS,
    axioms=GRADIENT_AXIOMS,
    needs_layer=True,
    captum="NeuronGradient",
)
def neuron_gradient(request: Request) -> MethodOutput:
    """Captum's NeuronGradient."""
    return MethodOutput(run_neuron(request, "neuron_gradient", "NeuronGradient"))


def _steps_and_rows(request: Request, minimum_steps: int) -> tuple[int, int | None]:
    from ._methods_layer_family import captum_rows, fixed_steps

    steps = fixed_steps(request)
    return steps, captum_rows(request, steps, minimum_steps)


@register(
    "neuron_integrated_gradients",
    family="neuron",
    description="Integrated Gradients of one neuron's activation (Sundararajan, Taly & Yan, Axiomatic "
    "Attribution for Deep Networks, 2017). " + NEURON_NOTE + " " + LOCAL_NOTE,
    options={**_NEURON_OPTIONS, "multiply_by_inputs": True},
    axioms=IG_AXIOMS,
    needs_layer=True,
    uses_baseline=True,
    path=True,
    captum="NeuronIntegratedGradients",
)
def neuron_integrated_gradients(request: Request) -> MethodOutput:
    """Captum's NeuronIntegratedGradients."""
    return _path_neuron(request, "neuron_integrated_gradients", "NeuronIntegratedGradients")


def _path_neuron(request: Request, name: str, class_name: str, **options: Any) -> MethodOutput:
    """A Captum neuron method integrated along the path from the baseline, in chunks of whole steps."""
    steps, rows = _steps_and_rows(request, 1)
    values = run_neuron(
        request,
        name,
        class_name,
        init={"multiply_by_inputs": bool(request.options["multiply_by_inputs"])},
        baselines=request.input_baseline(),
        n_steps=steps,
        method=request.integration,
        internal_batch_size=rows,
        **options,
    )
    return MethodOutput(values, None, baseline_name(request.baseline), steps)


@register(
    "neuron_conductance",
    family="neuron",
    description="Neuron conductance (Dhamdhere, Sundararajan & Yan, How Important Is a Neuron?, 2018): the "
    "part of the target's Integrated Gradients that flows through one neuron, per input feature. "
    + NEURON_NOTE
    + " "
    + LOCAL_NOTE,
    options={**_NEURON_OPTIONS, "multiply_by_inputs": True, "grad_kwargs": None},
    axioms=NOT_IN_TABLES,
    needs_layer=True,
    uses_baseline=True,
    path=True,
    captum="NeuronConductance",
)
def neuron_conductance(request: Request) -> MethodOutput:
    """Captum's NeuronConductance (``integration`` as its method; Captum's default there is trapezoid)."""
    return _path_neuron(
        request,
        "neuron_conductance",
        "NeuronConductance",
        target=request.scorer.captum_target(),
        grad_kwargs=request.options["grad_kwargs"],
    )


@register(
    "neuron_guided_backprop",
    family="neuron",
    description="Guided backpropagation of one neuron's activation (Springenberg et al., Striving for "
    "Simplicity: The All Convolutional Net, 2015); only nn.ReLU modules are overridden. " + NEURON_NOTE,
    options=_NEURON_OPTIONS,
    axioms=GUIDED_BACKPROP_AXIOMS,
    needs_layer=True,
    captum="NeuronGuidedBackprop",
)
def neuron_guided_backprop(request: Request) -> MethodOutput:
    """Captum's NeuronGuidedBackprop."""
    return MethodOutput(run_neuron(request, "neuron_guided_backprop", "NeuronGuidedBackprop"))


@register(
    "neuron_deconvolution",
    family="neuron",
    description="Deconvolution of one neuron's activation (Zeiler & Fergus, Visualizing and Understanding "
    "Convolutional Networks, 2014): ReLU applied to the backward signal at nn.ReLU modules. " + NEURON_NOTE,
    options=_NEURON_OPTIONS,
    axioms=NOT_IN_TABLES,
    needs_layer=True,
    captum="NeuronDeconvolution",
)
def neuron_deconvolution(request: Request) -> MethodOutput:
    """Captum's NeuronDeconvolution."""
    return MethodOutput(run_neuron(request, "neuron_deconvolution", "NeuronDeconvolution"))


@register(
    "neuron_deeplift",
    family="neuron",
    description="DeepLIFT of one neuron's activation (Shrikumar et al., Learning Important Features "
    "Through Propagating Activation Differences, 2017). " + NEURON_NOTE + " " + LOCAL_NOTE,
    options={**_NEURON_OPTIONS, "multiply_by_inputs": True},
    axioms=DEEPLIFT_AXIOMS,
    needs_layer=True,
    uses_baseline=True,
    captum="NeuronDeepLift",
)
def neuron_deeplift(request: Request) -> MethodOutput:
    """Captum's NeuronDeepLift."""
    baselines = request.input_baseline()
    values = run_neuron(
        request,
        "neuron_deeplift",
        "NeuronDeepLift",
        init={"multiply_by_inputs": bool(request.options["multiply_by_inputs"])},
        baselines=baselines,
    )
    return MethodOutput(values, None, baseline_name(request.baseline))


@register(
    "neuron_gradient_shap",
    family="neuron",
    description="GradientSHAP of one neuron's activation (Lundberg & Lee, A Unified Approach to "
    "Interpreting Model Predictions, 2017). " + NEURON_NOTE + " " + LOCAL_NOTE,
    options={**_NEURON_OPTIONS, "n_samples": 25, "stdevs": 0.0, "multiply_by_inputs": True},
    axioms=EXPECTED_GRADIENTS_AXIOMS,
    needs_layer=True,
    uses_baseline=True,
    captum="NeuronGradientShap",
)
def neuron_gradient_shap(request: Request) -> MethodOutput:
    """Captum's NeuronGradientShap, seeded (Captum draws from the global RNGs; they are restored)."""
    from ._methods_path import baseline_distribution

    dist = baseline_distribution(request)
    with request.seeded():
        values = run_neuron(
            request,
            "neuron_gradient_shap",
            "NeuronGradientShap",
            init={"multiply_by_inputs": bool(request.options["multiply_by_inputs"])},
            baselines=dist,
            n_samples=int(request.options["n_samples"]),
            stdevs=float(request.options["stdevs"]),
        )
    return MethodOutput(values, None, baseline_name(request.baseline))
