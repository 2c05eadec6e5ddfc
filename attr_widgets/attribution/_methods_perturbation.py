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
    return (1,) * len(shape)  # one feature per window for flat examples [F] (and () for scalars [B])


@register(
    "occlusion",
    family="perturbation",
    description="Occlusion (Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, 2014): "
    "the drop in the target score when a sliding window is replaced by the baseline. Default window: all "
    "channels x an eighth of each spatial size; default stride: the window (non-overlapping patches, one "
    "model call per patch), where Captum's default stride is 1: pass strides=1 for Captum's overlapping "
    "windows. Attributions have the dtype of the model's scores, as in Captum.",
    options={"sliding_window_shapes": None, "strides": None, **TOKEN_OPTIONS},
    axioms=NOT_IN_TABLES,
    uses_baseline=True,
    integer_inputs=True,
    captum="Occlusion",
)
def occlusion(request: Request) -> MethodOutput:
    """Captum's Occlusion (its FeatureAblation for inputs ``[B]``, whose one feature is the only window).

    Unlike Captum, the default ``strides`` is the window itself (non-overlapping patches: one model call per
    patch instead of one per pixel); ``strides=1`` gives Captum's default overlapping windows, and its values.
    """
    from captum.attr import FeatureAblation, Occlusion

    example = request.inputs.shape[1:]
    given = request.options["sliding_window_shapes"]
    # ``()`` is a valid window (inputs [B]): test for None, not falsiness.
    window: tuple[int, ...] = default_window(example) if given is None else given
    if isinstance(window, int):
        window = (window,)
    window = tuple(int(w) for w in window)
    if len(window) != len(example) or any(w < 1 or w > s for w, s in zip(window, example, strict=False)):
        raise ValueError(
            f"sliding_window_shapes must have one positive size per input dim {tuple(example)}, got {window}."
        )
    strides = window if request.options["strides"] is None else request.options["strides"]
    per_dim = strides if isinstance(strides, tuple) else [strides] * len(example)
    if len(per_dim) != len(example) or any(int(s) < 1 for s in per_dim):
        raise ValueError(
            f"strides must be a positive int or one per input dim {tuple(example)}, got {strides!r}."
        )
    steps = 1
    for size, w, s in zip(example, window, per_dim, strict=True):
        steps *= (size - w) // int(s) + 1
    baselines = perturbation_baseline(request)
    if not example:
        # Captum's Occlusion needs at least one dim per example; one scalar is one window: feature ablation.
        explainer = FeatureAblation(request.scorer.captum_module())
        values = _batched(
            request,
            1,
            lambda per_eval: explainer.attribute(
                request.inputs,
                baselines=baselines,
                target=request.scorer.captum_target(),
                additional_forward_args=request.scorer.captum_extra_args(),
                perturbations_per_eval=per_eval,
            ),
        )
        return MethodOutput(values, None, baseline_name(request.baseline), info={"windows": 1})
    explainer = Occlusion(request.scorer.captum_module())
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
    return MethodOutput(values, None, baseline_name(request.baseline), info={"windows": steps})


@register(
    "feature_ablation",
    family="perturbation",
    description="Feature ablation: the drop in the target score when each feature (or group in feature_mask) "
    "is replaced by the baseline. The attributions have the dtype of the model's scores, as in Captum "
    "(float64 for a float64 model, int64 for an integer-valued one, whatever the dtype of the inputs).",
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
    # No cast: differences of the model's scores keep its dtype (Captum's choice; exact for integer scores).
    return MethodOutput(values, None, baseline_name(request.baseline))
