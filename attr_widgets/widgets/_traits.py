"""Trait types of the widgets, each with a ``validate()`` that coerces what users pass (lonboard's pattern).

Rejected values raise with a message that names the argument and says what was expected.

The errors are ``TraitError``s that are also ``ValueError`` / ``TypeError``, so callers can catch either.
A widget that defines ``_trait_rejected(name, error)`` is told about every rejection, so the view can show it.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import traitlets
from traitlets import TraitError


class InvalidValueError(TraitError, ValueError):
    """A value of the right kind but wrong content (shape, range, unknown name, NaN)."""


class InvalidTypeError(TraitError, TypeError):
    """A value of the wrong kind."""


def reject(obj: Any, name: str | None, error: TraitError) -> TraitError:
    """Tell ``obj`` (the widget) about a rejected value, then hand back the error for the caller to raise."""
    hook = getattr(obj, "_trait_rejected", None)
    if hook is not None:
        hook(name, error)
    return error


class ImageTensor(traitlets.TraitType[Any, Any]):
    """One image as a float tensor ``[1, C, H, W]``; accepts ``[C, H, W]`` and numpy arrays.

    Rejects non-image shapes, batches of more than one image, integer pixels and NaN/Inf.
    """

    info_text = "an image tensor of shape [1, C, H, W] or [C, H, W]"
    default_value = None

    def validate(self, obj: Any, value: Any) -> torch.Tensor:
        name = self.name or "inputs"
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.ascontiguousarray(value))
        if not isinstance(value, torch.Tensor):
            raise reject(obj, name, InvalidTypeError(
                f"{name} must be a torch.Tensor or numpy array of shape [1, C, H, W] or [C, H, W], "
                f"got {type(value).__name__}."
            ))
        shape = tuple(value.shape)
        if value.dim() == 3:
            value = value.unsqueeze(0)
        if value.dim() != 4:
            hint = " For a single-channel image of shape [H, W] pass x[None]." if value.dim() == 2 else ""
            raise reject(obj, name, InvalidValueError(
                f"{name} must be an image of shape [1, C, H, W] or [C, H, W], got shape {shape}.{hint}"
            ))
        if value.shape[0] != 1:
            raise reject(obj, name, InvalidValueError(
                f"{name} must hold one image (batch size 1), got a batch of {value.shape[0]} with shape "
                f"{shape}; pass {name}[i] or {name}[i:i+1]."
            ))
        if min(value.shape[1:]) < 1:
            raise reject(obj, name, InvalidValueError(f"{name} has an empty dimension: shape {shape}."))
        if not value.is_floating_point():
            raise reject(obj, name, InvalidTypeError(
                f"{name} must be a floating-point tensor, got dtype {value.dtype}; convert and normalise "
                "it the way the model expects (e.g. x.float() / 255)."
            ))
        finite = torch.isfinite(value)
        if not bool(finite.all()):
            bad = int((~finite).sum())
            raise reject(obj, name, InvalidValueError(
                f"{name} contains {bad} NaN or Inf pixel value(s); attributions need finite inputs."
            ))
        # Match the model's dtype (a float64 numpy image for a float32 model), as the widget knows it.
        dtype = getattr(obj, "_input_dtype", None)
        return value.detach().to(dtype) if dtype is not None else value.detach()


class Choice(traitlets.Unicode):
    """A name out of a fixed set, or out of ``obj._choices[name]`` when the set is per widget.

    An unknown name is rejected with the nearest known one as a suggestion.
    """

    def __init__(self, default_value: str, choices: Sequence[str] = (), **kwargs: Any) -> None:
        self._fixed = tuple(choices)
        super().__init__(default_value, **kwargs)

    def choices(self, obj: Any) -> tuple[str, ...]:
        """The allowed names for this widget."""
        per_widget = getattr(obj, "_choices", {}).get(self.name)
        return tuple(per_widget) if per_widget is not None else self._fixed

    def validate(self, obj: Any, value: Any) -> str:
        if not isinstance(value, str):
            raise reject(obj, self.name, InvalidTypeError(
                f"{self.name} must be a str, one of {list(self.choices(obj))}; got {type(value).__name__}."
            ))
        known = self.choices(obj)
        if value not in known:
            close = difflib.get_close_matches(value, known, n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise reject(obj, self.name, InvalidValueError(
                f"{self.name}={value!r} is not available here.{hint} Expected one of: {', '.join(known)}."
            ))
        return value


def _as_int(obj: Any, name: str | None, value: Any) -> int:
    if isinstance(value, (np.integer, torch.Tensor)) and not isinstance(value, bool):
        if isinstance(value, torch.Tensor) and (value.numel() != 1 or value.is_floating_point()):
            raise reject(obj, name, InvalidTypeError(f"{name} must be an int, got a tensor {value!r}."))
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise reject(
            obj, name, InvalidTypeError(f"{name} must be an int, got {type(value).__name__} {value!r}.")
        )
    return value


class BoundedInt(traitlets.Int):
    """An int in ``[low, high]``; accepts numpy / 0-d torch integers."""

    def __init__(self, default_value: int, low: int, high: int, **kwargs: Any) -> None:
        self.low, self.high = low, high
        super().__init__(default_value, **kwargs)

    def validate(self, obj: Any, value: Any) -> int:
        value = _as_int(obj, self.name, value)
        if not self.low <= value <= self.high:
            raise reject(obj, self.name, InvalidValueError(
                f"{self.name} must be between {self.low} and {self.high}, got {value}."
            ))
        return value


class BoundedFloat(traitlets.Float):
    """A finite float in ``[low, high]``; accepts ints and numpy / 0-d torch numbers."""

    def __init__(self, default_value: float, low: float, high: float, **kwargs: Any) -> None:
        self.low, self.high = low, high
        super().__init__(default_value, **kwargs)

    def validate(self, obj: Any, value: Any) -> float:
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise reject(obj, self.name, InvalidTypeError(
                f"{self.name} must be a number, got {type(value).__name__} {value!r}."
            ))
        value = float(value)
        if not self.low <= value <= self.high:
            raise reject(obj, self.name, InvalidValueError(
                f"{self.name} must be between {self.low} and {self.high}, got {value}."
            ))
        return value


class ClassIndex(traitlets.Int):
    """A class of the model's output, ``0 <= target < obj._num_classes``.

    None means the top predicted class; the widget supplies it through ``obj._top_class()``.
    """

    def validate(self, obj: Any, value: Any) -> int:
        if value is None:
            return int(obj._top_class())
        value = _as_int(obj, self.name, value)
        classes = int(getattr(obj, "_num_classes", 0))
        if not 0 <= value < classes:
            raise reject(obj, self.name, InvalidValueError(
                f"{self.name} {value} is out of range: the model has {classes} classes (0..{classes - 1})."
            ))
        return value


class BinaryArray(traitlets.Dict):
    """A ``{view: memoryview, dtype, shape}`` dict made by ``_serialize``; the view travels as a buffer."""

    def validate(self, obj: Any, value: Any) -> Any:
        if value is None and self.allow_none:
            return None
        value = super().validate(obj, value)
        if set(value) != {"view", "dtype", "shape"} or not isinstance(value["view"], memoryview):
            raise reject(obj, self.name, InvalidTypeError(
                f"{self.name} must be a binary array {{view: memoryview, dtype, shape}} made by "
                "attr_widgets.widgets._serialize, not a plain dict or list."
            ))
        return value
