"""Models with several inputs: ``attribute(model, (x1, x2, ...), ...)`` returns one attribution per input.

The inputs are packed into one ``[B, D1 + D2 + ...]`` tensor and the model is called through a view that
unpacks them (``PackedInputs``), so every method runs unchanged on one tensor: completeness (``delta``) then
holds over all inputs together, as in Captum, and the values are unpacked into a tuple shaped like the inputs.
Baselines and feature masks may be given per input (a tuple) and are packed the same way.

Not for occlusion (its windows are per-input shapes; use feature_ablation with a per-input ``feature_mask``),
nor for the "blur" baseline over the packed tensor (it is computed per input instead), nor for integer inputs
(pass token ids with one input, or extra tensors such as attention masks through ``forward_kwargs``).
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ._baselines import make_baseline
from ._layer_path import pack, unpack
from ._result import Attribution
from ._validation import resolve_layer

_PREFIX = "model."
_UNSUPPORTED = ("occlusion", "attention")


class PackedInputs(nn.Module):
    """A view of ``model`` on packed inputs: ``forward(packed, **kw) = model(*unpack(packed), **kw)``."""

    def __init__(self, model: nn.Module, shapes: tuple[torch.Size, ...]) -> None:
        super().__init__()
        self.model = model
        self.shapes = shapes

    def forward(self, packed: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        """Unpack and call the wrapped model."""
        return self.model(*unpack(packed, self.shapes), *args, **kwargs)


# One view per (model, example shapes), kept while the model lives: the view's identity is part of the
# attribution cache key, so reusing it lets repeated calls hit the cache.
_views: weakref.WeakKeyDictionary[nn.Module, dict[tuple, PackedInputs]] = weakref.WeakKeyDictionary()


def _view(model: nn.Module, shapes: tuple[torch.Size, ...]) -> PackedInputs:
    views = _views.setdefault(model, {})
    key = tuple(tuple(shape) for shape in shapes)
    if key not in views:
        views[key] = PackedInputs(model, shapes)
    return views[key]


def per_input_call(request: Any, baselines: torch.Tensor) -> tuple[Any, Any, Any, Callable[[Any], Any]]:
    """(forward, inputs, baselines, repack) for a Captum call on the request, per input for a packed model.

    For a ``PackedInputs`` model the inputs and baselines are unpacked into tuples and the forward packs them
    again, so that Captum draws its random numbers per input exactly as on the user's own tuple call.
    """
    module = request.scorer.captum_module()
    if not isinstance(request.model, PackedInputs):
        return module, request.inputs.clone(), baselines, lambda values: values
    shapes = request.model.shapes
    count = len(shapes)

    def forward(*arguments: torch.Tensor) -> torch.Tensor:
        return module(pack(arguments[:count]), *arguments[count:])

    return forward, unpack(request.inputs, shapes), unpack(baselines, shapes), lambda values: pack(values)


def _check_inputs(inputs: tuple[Any, ...]) -> tuple[torch.Tensor, ...]:
    if not inputs:
        raise ValueError("inputs: an empty tuple; pass a tensor [B, ...] or a tuple of them.")
    for index, tensor in enumerate(inputs):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"inputs[{index}] must be a torch.Tensor [B, ...], got {type(tensor).__name__}.")
        if not tensor.is_floating_point():
            raise TypeError(
                f"inputs[{index}] has dtype {tensor.dtype}: a tuple of inputs must be floating point; pass "
                "extra integer tensors (e.g. an attention mask) through forward_kwargs."
            )
        if tensor.dim() < 1 or tensor.shape[0] != inputs[0].shape[0]:
            raise ValueError(
                f"inputs[{index}] has shape {tuple(tensor.shape)}: every input needs the same batch dim "
                f"B={inputs[0].shape[0]}."
            )
    return tuple(inputs)


def _pack_rows(parts: list[torch.Tensor], shapes: tuple[torch.Size, ...], argument: str) -> torch.Tensor:
    """Per-input tensors of one example ``S_i`` or of rows ``[R, *S_i]`` as packed ``[D]`` or ``[R, D]``."""
    rows = []
    for index, (part, shape) in enumerate(zip(parts, shapes, strict=True)):
        if part.shape == shape:
            part = part.unsqueeze(0)
        elif part.dim() != len(shape) + 1:
            raise ValueError(
                f"{argument}[{index}] has shape {tuple(part.shape)}; expected one example {tuple(shape)} or "
                f"rows [R, {', '.join(map(str, shape))}]."
            )
        else:
            part = part.expand(part.shape[0], *shape)
        rows.append(part)
    counts = {part.shape[0] for part in rows}
    if len(counts - {1}) > 1:
        raise ValueError(f"{argument}: the inputs' entries have different numbers of rows {sorted(counts)}.")
    count = max(counts)
    packed = pack(tuple(part.expand(count, *part.shape[1:]) for part in rows))
    single = count == 1 and all(p.shape == s for p, s in zip(parts, shapes, strict=True))
    return packed[0] if single else packed


def _baseline(
    baseline: Any, inputs: tuple[torch.Tensor, ...], shapes: tuple[torch.Size, ...], options: dict[str, Any]
) -> Any:
    """The packed baseline: per-input entries (names, numbers, tensors) packed into one tensor."""
    per_input = baseline if isinstance(baseline, (tuple, list)) else (baseline,) * len(inputs)
    if len(per_input) != len(inputs):
        raise ValueError(f"baseline: a tuple of {len(per_input)} baselines for {len(inputs)} inputs.")
    if not isinstance(baseline, (tuple, list)) and isinstance(baseline, str) and baseline == "zeros":
        return baseline  # the packed zeros are the zeros of every input
    parts = []
    for index, (entry, x) in enumerate(zip(per_input, inputs, strict=True)):
        if isinstance(entry, (int, float)) and not isinstance(entry, bool):
            entry = torch.full(x.shape[1:], float(entry), dtype=x.dtype, device=x.device)
        if isinstance(entry, torch.Tensor):
            if entry.is_floating_point() and not torch.isfinite(entry).all():
                raise ValueError(f"baseline[{index}] contains NaN or Inf values; pass a finite baseline.")
            parts.append(entry.detach().to(x.device, x.dtype))
            continue
        data = options.get("data")
        parts.append(
            make_baseline(
                entry,
                x,
                data=data[index] if isinstance(data, (tuple, list)) else data,
                blur_sigma=options.get("blur_sigma"),
                seed=int(options.get("seed", 0)) + index,
            )
        )
    return _pack_rows(parts, shapes, "baseline")


def _feature_mask(mask: Any, inputs: tuple[torch.Tensor, ...], shapes: tuple[torch.Size, ...]) -> Any:
    if mask is None or isinstance(mask, torch.Tensor):
        if isinstance(mask, torch.Tensor):
            raise ValueError("feature_mask: with a tuple of inputs pass a tuple of masks, one per input.")
        return None
    if not isinstance(mask, (tuple, list)) or len(mask) != len(inputs):
        raise ValueError(f"feature_mask: pass one integer mask per input ({len(inputs)}).")
    parts = []
    for index, (entry, shape) in enumerate(zip(mask, shapes, strict=True)):
        if not isinstance(entry, torch.Tensor) or entry.is_floating_point():
            raise TypeError(f"feature_mask[{index}] must be an integer tensor of feature-group ids.")
        if entry.dim() == len(shape):
            entry = entry.unsqueeze(0)
        try:
            entry = entry.expand(entry.shape[0], *shape)
        except RuntimeError as error:
            raise ValueError(
                f"feature_mask[{index}] does not broadcast to the input {tuple(shape)}."
            ) from error
        parts.append(entry)
    # Ids are shared across inputs: the same id in two inputs is one feature group (as in Captum).
    return _pack_rows(parts, shapes, "feature_mask").long()


def attribute_inputs_tuple(
    run: Callable[..., Attribution],
    model: nn.Module,
    inputs: tuple[Any, ...],
    *,
    method: str,
    baseline: Any,
    layer: Any,
    **rest: Any,
) -> Attribution:
    """``run`` (the engine's ``_attribute``) on the packed inputs, its values unpacked per input."""
    if method in _UNSUPPORTED:
        raise ValueError(
            f"method={method!r} does not take a tuple of inputs; "
            + ("use feature_ablation with a per-input feature_mask." if method == "occlusion" else "")
        )
    xs = _check_inputs(inputs)
    shapes = tuple(x.shape[1:] for x in xs)
    layer_name = None
    if layer is not None:
        layer, layer_name = resolve_layer(model, layer)  # the user's names, not the view's
    if "feature_mask" in rest:
        rest["feature_mask"] = _feature_mask(rest["feature_mask"], xs, shapes)
    packed_baseline = _baseline(baseline, xs, shapes, rest)
    view = _view(model, shapes)
    packed_inputs = pack(tuple(x.detach().to(xs[0].dtype) for x in xs))
    result = run(view, packed_inputs, method=method, baseline=packed_baseline, layer=layer, **rest)
    values: Any = result.values
    if isinstance(values, torch.Tensor) and values.shape == packed_inputs.shape:
        values = unpack(values, shapes)
    return dataclasses.replace(
        result,
        values=values,
        baseline=baseline if isinstance(baseline, str) else result.baseline,
        layer=layer_name,
    )
