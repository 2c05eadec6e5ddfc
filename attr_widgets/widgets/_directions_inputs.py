"""What DirectionsWidget accepts: its data, target, layer and slider offsets.

Every check raises an error that names the argument (the widget's trait types call these).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
import traitlets
from torch import nn

from attr_widgets._torch import resolve_layer

from ._traits import InvalidTypeError, InvalidValueError, reject

MAX_OFFSET = 10.0  # spreads; the view's sliders span ±3, Python may go further


def materialise_data(data: Any) -> torch.Tensor:
    """``data`` as one ``[N, ...]`` float tensor on the CPU.

    Accepts a tensor, a numpy array, or an iterable of batches (a DataLoader; a tuple/list batch
    contributes its first element, the inputs).
    """
    if isinstance(data, np.ndarray):
        data = torch.from_numpy(np.ascontiguousarray(data))
    if not isinstance(data, torch.Tensor):
        if isinstance(data, (list, tuple)) and data and isinstance(data[0], str):
            raise TypeError("data: texts need the model's tokenizer: DirectionsWidget(..., tokenizer=tok).")
        if isinstance(data, (str, bytes, dict)) or not isinstance(data, Iterable):
            raise TypeError(
                f"data must be a tensor [N, ...] of examples or a DataLoader, got {type(data).__name__}."
            )
        parts = []
        for batch in data:
            inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
            if not isinstance(inputs, torch.Tensor):
                raise TypeError(
                    "data: every batch must be a tensor or a (inputs, labels) tuple/list of tensors, got "
                    f"{type(inputs).__name__}."
                )
            parts.append(inputs.detach().cpu())
        if not parts:
            raise ValueError("data yielded no batches.")
        data = torch.cat(parts)
    if data.ndim < 2:
        raise ValueError(f"data must be a batch [N, ...] of examples, got shape {tuple(data.shape)}.")
    if data.shape[0] < 2:
        raise ValueError(
            f"data needs at least 2 examples (directions of variance need a spread), got {data.shape[0]}."
        )
    if not data.is_floating_point():
        raise TypeError(f"data must be floating-point, got {data.dtype}; convert it as the model expects.")
    if not bool(torch.isfinite(data).all()):
        raise ValueError("data contains NaN or Inf values.")
    return data.detach()


class LayerName(traitlets.Unicode):
    """The dotted name of a submodule of ``obj._model``; an unknown name suggests the nearest one."""

    def validate(self, obj: Any, value: Any) -> str:
        if isinstance(value, nn.Module):
            try:
                return resolve_layer(obj._model, value)[1]
            except ValueError as exc:
                raise reject(obj, self.name, InvalidValueError(str(exc))) from exc
        if not isinstance(value, str):
            raise reject(obj, self.name, InvalidTypeError(
                f"layer must be a submodule's dotted name (or the module), got {type(value).__name__}."
            ))
        try:
            resolve_layer(obj._model, value)
        except ValueError as exc:
            raise reject(obj, self.name, InvalidValueError(str(exc))) from exc
        return value


class Target(traitlets.TraitType[Any, Any]):
    """None (each example's top class), a class index, or a callable ``output -> [B]``.

    A callable stays in Python (``obj._target_functions``); the synced value is its label, ``"fn: <name>"``.
    """

    info_text = "None, a class index or a callable output -> [B]"
    default_value = None
    allow_none = True

    def validate(self, obj: Any, value: Any) -> Any:
        functions: dict[str, Callable[[Any], torch.Tensor]] = obj._target_functions
        if value is None:
            return None
        if isinstance(value, str):
            if value in functions:
                return value  # the view echoing a callable's label
            raise reject(obj, self.name, InvalidValueError(
                f"target={value!r} is not known: pass None (top class), a class index or a callable."
            ))
        if callable(value):
            label = f"fn {len(functions) + 1}: {getattr(value, '__name__', type(value).__name__)}"
            functions[label] = value
            return label
        if isinstance(value, (np.integer, torch.Tensor)) and not isinstance(value, bool):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise reject(obj, self.name, InvalidTypeError(
                f"target must be None, a class index or a callable output -> [B]; got {type(value).__name__}."
            ))
        classes = getattr(obj, "_num_outputs", None)
        if value < 0 or (classes is not None and value >= classes):
            raise reject(obj, self.name, InvalidValueError(
                f"target {value} is out of range: the model has {classes} outputs (0..{(classes or 1) - 1})."
            ))
        return value


class ExampleIndex(traitlets.Int):
    """An index into the widget's data, ``0 <= example < len(data)``."""

    def validate(self, obj: Any, value: Any) -> int:
        if isinstance(value, (np.integer, torch.Tensor)) and not isinstance(value, bool):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise reject(
                obj, self.name, InvalidTypeError(f"example must be an int, got {type(value).__name__}.")
            )
        count = obj._data.shape[0]
        if not 0 <= value < count:
            raise reject(obj, self.name, InvalidValueError(
                f"example {value} is out of range: data has {count} examples (0..{count - 1})."
            ))
        return value


class Offsets(traitlets.List):
    """One finite float per direction, in spreads; shorter lists mean 0 for the rest, longer ones are cut."""

    def validate(self, obj: Any, value: Any) -> list[float]:
        if isinstance(value, (np.ndarray, torch.Tensor)):
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            raise reject(obj, self.name, InvalidTypeError(
                f"offsets must be a list of numbers (one per direction), got {type(value).__name__}."
            ))
        out = []
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (int, float, np.number)):
                raise reject(obj, self.name, InvalidTypeError(
                    f"offsets[{i}] must be a number, got {type(item).__name__} {item!r}."
                ))
            number = float(item)
            if not math.isfinite(number) or abs(number) > MAX_OFFSET:
                raise reject(obj, self.name, InvalidValueError(
                    f"offsets[{i}]={number} must be finite and within ±{MAX_OFFSET} spreads."
                ))
            out.append(number)
        return out
