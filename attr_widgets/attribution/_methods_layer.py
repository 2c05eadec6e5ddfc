"""Layer methods: layer Integrated Gradients (prefix computed once), Grad-CAM, attention weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ._baselines import TOKEN_BASELINE_NAMES, baseline_name, make_baseline
from ._layer_path import LayerGradients, LayerTap, capture, pack, unpack
from ._model_state import quiet_captum
from ._registry import IG_AXIOMS, LOCAL_NOTE, NOT_IN_TABLES, register
from ._request import MethodOutput, Request
from ._values import as_tuple, single_or_tuple


def token_baseline_ids(request: Request, name: str) -> torch.Tensor:
    """Token ids with every position set to the pad (or mask) token, except ids in ``keep_token_ids``."""
    option = f"{name}_token_id"
    token = request.options.get(option)
    if token is None:
        # Hugging Face models carry the id in their config; a wrapper may hold such a model inside.
        for module in request.model.modules():
            token = getattr(getattr(module, "config", None), option, None)
            if token is not None:
                break
    if token is None:
        raise ValueError(
            f"baseline={name!r} needs the {name} token id: pass {option}=... (e.g. tokenizer.{option}) or "
            "use a "
            "model whose config has it."
        )
    ids = torch.full_like(request.inputs, int(token))
    keep = request.options.get("keep_token_ids") or ()
    for kept in keep:
        ids = torch.where(request.inputs == int(kept), request.inputs, ids)
    return ids


def _fits(tensor: torch.Tensor, like: torch.Tensor) -> bool:
    try:
        tensor.expand_as(like)
    except RuntimeError:
        return False
    return True


def _layer_baseline(
    request: Request, tap: LayerTap, activations: torch.Tensor, packed: bool = False
) -> torch.Tensor:
    """Baseline activations: the layer on the baseline input, or a tensor given in the layer's shape.

    ``packed``: the layer's output is a tuple of tensors, attributed together as one packed tensor (``pack``);
    its baseline then comes from the baseline input only.
    """
    baseline = request.baseline
    inputs = request.inputs
    if isinstance(baseline, torch.Tensor):
        in_layer_space = baseline.is_floating_point() and not _fits(baseline, inputs)
        if in_layer_space and packed:
            raise ValueError(
                "baseline: the layer returns a tuple of tensors, so a layer-shaped baseline is ambiguous; "
                "pass an input-shaped baseline (its activations are the baseline of every tensor)."
            )
        if in_layer_space and _fits(baseline, activations):
            return baseline.detach().to(activations.device, activations.dtype).expand_as(activations)
        if inputs.is_floating_point():
            start = make_baseline(baseline, inputs)
        elif baseline.is_floating_point():
            raise ValueError(
                f"baseline: a float tensor of shape {tuple(baseline.shape)} fits neither the layer's "
                "activations "
                f"{tuple(activations.shape)} nor, as token ids, the inputs {tuple(inputs.shape)}."
            )
        else:
            start = make_baseline(baseline, inputs)
    elif not inputs.is_floating_point():
        name = "pad" if baseline == "zeros" else baseline
        if name not in TOKEN_BASELINE_NAMES:
            raise ValueError(
                f"baseline={baseline!r}: for token ids use 'pad', 'mask', a tensor of ids, or a tensor "
                "shaped like "
                "the layer's activations."
            )
        start = token_baseline_ids(request, name)
    else:
        start = request.input_baseline()
    baseline_activations, _ = capture(tap, request.scorer, start)
    return pack(baseline_activations) if packed else baseline_activations


@register(
    "layer_integrated_gradients",
    family="layer",
    description="Integrated Gradients w.r.t. a layer's activations (e.g. the embeddings of a token "
    "model); the "
    "part of the model before the layer runs once, not once per step as in Captum. " + LOCAL_NOTE,
    options={
        "tol": 1e-3,
        "max_steps": 1024,
        "pad_token_id": None,
        "mask_token_id": None,
        "keep_token_ids": None,
        "layer_strategy": "batched",
        "multiply_by_inputs": True,
        "attribute_to_layer_input": False,
        "grad_kwargs": None,
    },
    axioms=IG_AXIOMS,
    adaptive=True,
    has_delta=True,
    needs_layer=True,
    uses_baseline=True,
    path=True,
    integer_inputs=True,
    captum="LayerIntegratedGradients",
)
def layer_integrated_gradients(request: Request) -> MethodOutput:
    """IG from the baseline's activations to the input's, at ``layer``."""
    from ._methods_path import path_integral

    assert request.layer is not None
    if request.options["attribute_to_layer_input"]:
        from ._methods_layer_family import layer_ig_at_layer_input

        return layer_ig_at_layer_input(request)
    tap = LayerTap(request.layer)
    with tap.attached():
        activations = request.layer_activations
        if activations is None:
            activations, _ = capture(tap, request.scorer, request.inputs)
        # A tuple-valued layer (Captum attributes each of its tensors): one path through all of them, packed.
        shapes = tuple(a.shape[1:] for a in activations) if isinstance(activations, tuple) else None
        if isinstance(activations, tuple):
            activations = pack(activations)
        starts = _layer_baseline(request, tap, activations, packed=shapes is not None)
        tap.packed_shapes = shapes
        gradients = LayerGradients(
            tap,
            request.scorer,
            request.inputs,
            request.options["layer_strategy"],
            grad_kwargs=request.options["grad_kwargs"],
        )
        # f at the path's start: the suffix on the baseline activations (equals f(baseline input) when nothing
        # bypasses the layer), so delta measures the quadrature error of this very path.
        with torch.no_grad():
            f_start = _suffix_scores(gradients, starts)
        result = path_integral(request, gradients, activations, starts, f_start, scored_fn=gradients.scored)
    local = not request.options["multiply_by_inputs"]
    values = result.gradients if local else result.values
    return MethodOutput(
        values if shapes is None else unpack(values, shapes),
        f_start,
        baseline_name(request.baseline),
        int(result.steps.max()),
        info={"steps": result.steps, "evaluations": result.evaluations, "strategy": gradients.strategy},
        complete=not local,
    )


def _suffix_scores(gradients: LayerGradients, activations: torch.Tensor) -> torch.Tensor:
    from ._outputs import gather_scores

    tap, scorer = gradients.tap, gradients.scorer
    rows = torch.arange(activations.shape[0], device=activations.device)
    tap.replacement = activations
    try:
        logits = tap.run(scorer, gradients.inputs, None, activations.shape[0])
    finally:
        tap.replacement = None
    return gather_scores(logits, scorer.target, rows).detach()


@register(
    "grad_cam",
    family="layer",
    description="Grad-CAM (Selvaraju et al.): channel weights = mean gradient over space, map = ReLU(Σ "
    "weight x "
    "activation), upsampled to the input size.",
    options={
        "relu_attributions": True,
        "interpolate": True,
        "interpolate_mode": "bilinear",
        "attribute_to_layer_input": False,
        "grad_kwargs": None,
    },
    axioms=NOT_IN_TABLES,
    needs_layer=True,
    integer_inputs=True,
    captum="LayerGradCam",
)
def grad_cam(request: Request) -> MethodOutput:
    """Captum's LayerGradCam, optionally upsampled to the input's spatial size."""
    from captum.attr import LayerAttribution, LayerGradCam

    from .._torch import capture

    assert request.layer is not None
    explainer = LayerGradCam(request.scorer.captum_module(), request.layer)
    with quiet_captum(), capture(request.layer) as seen:
        raw = explainer.attribute(
            request.inputs,
            target=request.scorer.captum_target(),
            additional_forward_args=request.scorer.captum_extra_args(),
            relu_attributions=bool(request.options["relu_attributions"]),
            attribute_to_layer_input=bool(request.options["attribute_to_layer_input"]),
            grad_kwargs=request.options["grad_kwargs"],
        )
    _check_feature_map(request, raw, seen.outputs)
    # A tuple-valued layer gives one map per tensor (as Captum does), each upsampled on its own.
    maps = []
    for values in as_tuple(raw):
        if request.options["interpolate"] and request.inputs.dim() == values.dim() and values.dim() in (3, 4):
            values = LayerAttribution.interpolate(
                values, tuple(request.inputs.shape[2:]), interpolate_mode=request.options["interpolate_mode"]
            )
        maps.append(values)
    return MethodOutput(single_or_tuple(maps))


def _check_feature_map(request: Request, maps: Any, outputs: list[torch.Tensor]) -> None:
    """On images, Grad-CAM needs ``[B, C, H, W]`` feature maps (a ViT's ``[B, T, D]`` tokens give nonsense).

    Captum's map has the dims of the layer's activations (channels summed), so its dims decide; the shape
    named is the layer's output (or, for ``attribute_to_layer_input``, the map's).
    """
    first = as_tuple(maps)[0]
    if request.inputs.dim() != 4 or first.dim() == 4:
        return
    to_input = bool(request.options["attribute_to_layer_input"])
    shape = tuple(first.shape) if to_input or not outputs else tuple(outputs[0].shape)
    raise ValueError(
        f"grad_cam: layer={request.layer_name!r} gives activations of shape {shape}, not "
        "[B, C, H, W]: Grad-CAM weights channels by their gradient averaged over space, so it needs a "
        "convolutional feature map. Pick a convolutional layer; for a vision transformer's tokens use "
        "method='attention_rollout' or 'attention' (drawn on the patch grid)."
    )


def _select_attentions(raw: Any, selector: Any) -> tuple[torch.Tensor, ...]:
    if callable(selector):
        attentions = selector(raw)
    elif isinstance(raw, Mapping) and selector in raw:
        attentions = raw[selector]
    else:
        attentions = getattr(raw, selector, None)
    if isinstance(attentions, torch.Tensor):
        attentions = (attentions,)
    if not attentions or not all(isinstance(a, torch.Tensor) and a.dim() == 4 for a in attentions):
        raise ValueError(
            "method='attention' needs a model that returns attention weights [B, heads, T, T] per layer when "
            "called with output_attentions=True (Hugging Face models; load them with "
            "attn_implementation='eager'), "
            f"found under attentions={selector!r}; pass attentions= a key or callable(raw_output) otherwise."
        )
    return tuple(attentions)


@register(
    "attention",
    family="attention",
    description="Attention weights (not an attribution of the target: the erasure test of Serrano & Smith "
    "(2019) compares them with gradients): the attention a query token pays to each token, in one layer, "
    "heads averaged. For a vision transformer (image inputs) the patch tokens are drawn on the image grid.",
    options={"attention_layer": -1, "heads": "mean", "query": 0, "attentions": "attentions"},
    axioms=NOT_IN_TABLES,
    integer_inputs=True,
)
def attention(request: Request) -> MethodOutput:
    """Read the attention weights the model returns with ``output_attentions=True``."""
    scorer = request.scorer
    with torch.no_grad():
        raw = scorer.run_model(request.inputs, {"output_attentions": True, **scorer.kwargs(None)})
    stack = torch.stack(_select_attentions(raw, request.options["attentions"]), dim=1)  # [B, L, H, T, T]
    layer = stack[:, int(request.options["attention_layer"])]
    heads = request.options["heads"]
    if heads == "mean":
        maps = layer.mean(dim=1)
    elif heads == "max":
        maps = layer.amax(dim=1)
    elif isinstance(heads, int):
        maps = layer[:, heads]
    else:
        raise ValueError(f"heads must be 'mean', 'max' or a head index, got {heads!r}.")
    query = request.options["query"]
    values = maps.mean(dim=1) if query == "mean" else maps[:, int(query)]
    from ._methods_rollout import image_inputs, on_image

    if image_inputs(request):  # a vision transformer: the patch tokens drawn on the image
        values = on_image(values, request.inputs)
    return MethodOutput(values.detach(), info={"attention": stack.detach()})
