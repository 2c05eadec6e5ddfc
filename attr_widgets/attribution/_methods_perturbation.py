"""Perturbation methods: occlusion and feature ablation (Captum, with our batching and baselines)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._baselines import TOKEN_BASELINE_NAMES, baseline_name
from ._batching import ChunkRunner
from ._model_state import quiet_captum
from ._registry import NOT_IN_TABLES, register
from ._request import MethodOutput, Request

TOKEN_OPTIONS = {"pad_token_id": None, "mask_token_id": None, "keep_token_ids": None}


def perturbation_baseline(request: Request) -> torch.Tensor | float:
    """What replaces the removed features: a baseline tensor, or a token id for integer inputs."""
    if request.inputs.is_floating_point():
        return request.input_baseline()
    from ._methods_layer import token_baseline_ids

    if isinstance(request.baseline, torch.Tensor):
        return request.baseline.to(request.device).expand_as(request.inputs)
    name = "pad" if request.baseline == "zeros" else request.baseline
    if name not in TOKEN_BASELINE_NAMES:
        raise ValueError(
            f"baseline={request.baseline!r}: for token ids use 'pad', 'mask' or a tensor of token ids."
        )
    return token_baseline_ids(request, name)


def _batched(request: Request, perturbations: int, run: Callable[[int], torch.Tensor]) -> torch.Tensor:
    """``run(perturbations_per_eval)`` sized to the memory plan, halved on out-of-memory."""
    per_eval = max(1, min(perturbations, request.rows(perturbations * request.batch) // request.batch))
    with quiet_captum():
        return ChunkRunner(per_eval).call(run)


def default_window(shape: torch.Size) -> tuple[int, ...]:
    """Occlusion window for one example: all channels x an eighth of each spatial size (1 for flat)."""
    if len(shape) >= 3:
        return (shape[0], *(max(1, size // 8) for size in shape[1:]))
    if len(shape) == 2:
        return (shape[0], max(1, shape[1] // 8))
    return (1,)


@register(
    "occlusion",
    family="perturbation",
    description="Occlusion (Zeiler & Fergus): the drop in the target score when a sliding window is replaced "
    "by the baseline.",
    options={"sliding_window_shapes": None, "strides": None, **TOKEN_OPTIONS},
    axioms=NOT_IN_TABLES,
    uses_baseline=True,
    integer_inputs=True,
    captum="Occlusion",
)
def occlusion(request: Request) -> MethodOutput:
    """Captum's Occlusion."""
    from captum.attr import Occlusion

    example = request.inputs.shape[1:]
    window = request.options["sliding_window_shapes"] or default_window(example)
    window = tuple(int(w) for w in window)
    if len(window) != len(example) or any(w < 1 or w > s for w, s in zip(window, example, strict=False)):
        raise ValueError(
            f"sliding_window_shapes must have one positive size per input dim {tuple(example)}, got {window}."
        )
    strides = request.options["strides"] or window
    steps = 1
    for size, w, s in zip(
        example, window, strides if isinstance(strides, tuple) else [strides] * len(example), strict=False
    ):
        steps *= (size - w) // int(s) + 1
    explainer, baselines = Occlusion(request.scorer.captum_module()), perturbation_baseline(request)
    values = _batched(
        request,
        steps,
        lambda per_eval: explainer.attribute(
            request.inputs,
            sliding_window_shapes=window,
            strides=strides,
            baselines=baselines,
            target=request.scorer.captum_target(),
            additional_forward_args=request.scorer.captum_extra_args(),
            perturbations_per_eval=per_eval,
        ),
    )
    return MethodOutput(
        values.to(torch.get_default_dtype()) if not values.is_floating_point() else values,
        None,
        baseline_name(request.baseline),
        info={"windows": steps},
    )


@register(
    "feature_ablation",
    family="perturbation",
    description="Feature ablation: the drop in the target score when each feature (or group in feature_mask) "
    "is replaced by the baseline.",
    options={"feature_mask": None, **TOKEN_OPTIONS},
    axioms=NOT_IN_TABLES,
    uses_baseline=True,
    integer_inputs=True,
    captum="FeatureAblation",
)
def feature_ablation(request: Request) -> MethodOutput:
    """Captum's FeatureAblation."""
    from captum.attr import FeatureAblation

    mask = request.options["feature_mask"]
    if mask is not None:
        if not isinstance(mask, torch.Tensor) or mask.is_floating_point():
            raise TypeError(
                "feature_mask must be an integer tensor of feature-group ids broadcastable to inputs."
            )
        mask = mask.to(request.device)
        groups = int(mask.max()) + 1
    else:
        groups = int(request.inputs[0].numel())
    explainer, baselines = FeatureAblation(request.scorer.captum_module()), perturbation_baseline(request)
    values = _batched(
        request,
        groups,
        lambda per_eval: explainer.attribute(
            request.inputs,
            baselines=baselines,
            target=request.scorer.captum_target(),
            additional_forward_args=request.scorer.captum_extra_args(),
            feature_mask=mask,
            perturbations_per_eval=per_eval,
        ),
    )
    if not values.is_floating_point():
        values = values.to(torch.get_default_dtype())
    return MethodOutput(values, None, baseline_name(request.baseline))
