"""Perturbation methods: occlusion and feature ablation (Captum, with our batching and baselines)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import torch

from ._baselines import TOKEN_BASELINE_NAMES, baseline_name
from ._batching import AttributionWarning, ChunkRunner
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
    if request.device.type == "cpu" and request.internal_batch_size == "auto":
        # A CPU gains little from batching beyond a few rows: cap the chunk so progress comes in ~32 steps
        # (an explicit internal_batch_size is the user's choice and is kept).
        per_eval = min(per_eval, max(1, math.ceil(perturbations / PROGRESS_STEPS)))
    with quiet_captum():
        return ChunkRunner(per_eval).call(run)


# Model rows above which a perturbation method warns before it starts (a ResNet-18 forward on a 224 x 224
# image takes tens of milliseconds on a laptop CPU: this many rows is minutes).
PASSES_WARNING = 5000
# Perturbation chunks per run on a CPU, so that progress (and cancel) come at this granularity.
PROGRESS_STEPS = 32
# The default grouping of an image into square patches: about this many per side (ViT's 16 px at 224 px).
PATCHES_PER_SIDE = 14


def default_patch_size(example: torch.Size) -> int:
    """Side of the default square patches for one image ``[C, H, W]``: ⌈min(H, W) / 14⌉ pixels."""
    return max(1, math.ceil(min(int(example[1]), int(example[2])) / PATCHES_PER_SIDE))


def patch_mask(example: torch.Size, side: int, device: torch.device) -> torch.Tensor:
    """Feature groups ``[1, 1, H, W]``: one id per ``side`` x ``side`` patch (all channels together)."""
    height, width = int(example[1]), int(example[2])
    rows = torch.arange(height, device=device) // side
    columns = torch.arange(width, device=device) // side
    ids = rows[:, None] * math.ceil(width / side) + columns[None, :]
    return ids.reshape(1, 1, height, width)


def announce_passes(request: Request, method: str, units: int, unit: str, how_to_reduce: str) -> int:
    """Set the progress total to the model rows ahead; warn before a run of more than PASSES_WARNING rows.

    ``units`` perturbations (feature groups, windows) of each of the batch's examples, plus Captum's forward
    on the unperturbed inputs. Returns the number of rows (without the memory probe's forward, which the
    progress total includes when it is still to run).
    """
    rows = request.batch * (units + 1)
    scorer = request.scorer
    scorer.total_rows = scorer.done_rows + request.probe_rows + rows
    if rows > PASSES_WARNING:
        warnings.warn(
            f"{method}: {units} {unit} x {request.batch} example(s) = {rows} model rows (forward passes of "
            f"one example) before a result; {how_to_reduce}",
            AttributionWarning,
            stacklevel=6,
        )
    return rows


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
    rows = announce_passes(
        request,
        "occlusion",
        steps,
        "windows",
        "use larger sliding_window_shapes or strides (the default stride is the window).",
    )
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
    return MethodOutput(
        values, None, baseline_name(request.baseline), info={"windows": steps, "forward_rows": rows}
    )


@register(
    "feature_ablation",
    family="perturbation",
    description="Feature ablation: the drop in the target score when each feature group is replaced by the "
    "baseline. Default groups: for images [B, C, H, W] square patches of patch_size pixels (default "
    "⌈min(H, W) / 14⌉: 16 px at 224 x 224, about 196 patches), all channels together; one token for token "
    "ids; one feature otherwise; feature_mask= (integer group ids broadcastable to the inputs) overrides. "
    "Warns before more than 5000 model rows. The attributions have the dtype of the model's scores, as in "
    "Captum (float64 for a float64 model, int64 for an integer-valued one, whatever the dtype of the "
    "inputs).",
    options={"feature_mask": None, "patch_size": None, **TOKEN_OPTIONS},
    axioms=NOT_IN_TABLES,
    uses_baseline=True,
    integer_inputs=True,
    captum="FeatureAblation",
)
def feature_ablation(request: Request) -> MethodOutput:
    """Captum's FeatureAblation."""
    from captum.attr import FeatureAblation

    mask, groups = feature_groups(request)
    info = {"groups": groups, "forward_rows": 0}
    info["forward_rows"] = announce_passes(
        request,
        "feature_ablation",
        groups,
        "feature groups",
        "pass feature_mask= with fewer groups (or patch_size= for images).",
    )
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
    return MethodOutput(values, None, baseline_name(request.baseline), info=info)


def feature_groups(request: Request) -> tuple[torch.Tensor | None, int]:
    """``(feature_mask for Captum, number of groups)``: the user's mask, patches for images, else None."""
    mask, side = request.options["feature_mask"], request.options["patch_size"]
    example = request.inputs.shape[1:]
    if mask is not None:
        if side is not None:
            raise ValueError("patch_size= and feature_mask= are exclusive: the mask already sets the groups.")
        if not isinstance(mask, torch.Tensor) or mask.is_floating_point():
            raise TypeError(
                "feature_mask must be an integer tensor of feature-group ids broadcastable to inputs."
            )
        mask = mask.to(request.device)
        return mask, int(mask.max()) + 1
    image = request.inputs.is_floating_point() and len(example) == 3
    if side is not None:
        if not image:
            shape = tuple(request.inputs.shape)
            raise ValueError(f"patch_size= is for images [B, C, H, W]; the inputs are {shape}.")
        if isinstance(side, bool) or not isinstance(side, int) or side < 1:
            raise ValueError(f"patch_size must be a positive int (pixels), got {side!r}.")
    if not image:
        return None, int(request.inputs[0].numel())  # one token / one feature per group
    side = default_patch_size(example) if side is None else side
    mask = patch_mask(example, side, request.device)
    return mask, int(mask.max()) + 1
