"""A widget's settings as plain data: ``to_dict()``, ``from_dict()`` and what ``export_settings`` publishes.

The dict says what is on screen and how to get it again without the widget::

    {"widget": "AttributionWidget", "version": 1,
     "controls": {...},   # the compute controls (the traits whose change recomputes)
     "view": {...},       # the view-only controls (opacity, sign mode, ...)
     "options": {...},    # constructor options that shape the view (the methods offered, ...)
     "call": "attribute", # the API the settings are keyword arguments of
     "settings": {...},   # aw.attribute(model, inputs, **settings) gives the result on screen
     "not_serialised": {name: why},  # not plain data (a callable, a tensor): pass it again
     "figures": {...}}    # the numbers on screen (delta, colour-scale extent, steps taken, ...)

Each widget class supplies its own ``settings`` and ``figures`` (``_replay_settings`` / ``_figures``); the
envelope, the JSON checks and the replay live here.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from ._base import ComputeWidget

SETTINGS_VERSION = 1
# Settings that are constructor arguments of the widgets too (passed again by from_dict where they are).
REPLAYED_SETTINGS = ("internal_batch_size", "output", "layer")


class NotPlain(Exception):
    """A value with no faithful JSON form (a callable, a tensor, a module)."""


def plain(value: Any) -> Any:
    """``value`` as JSON data (numpy / torch scalars become numbers); :class:`NotPlain` when it has none."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            raise NotPlain(f"a non-finite number ({number})")
        return number
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.dim() == 0:
        return plain(value.item())
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise NotPlain("a dict with non-string keys")
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    raise NotPlain(f"a {type(value).__name__}")


def as_tuples(value: Any) -> Any:
    """``value`` with every list made a tuple (method options such as window shapes, after JSON)."""
    if isinstance(value, Mapping):
        return {key: as_tuples(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(as_tuples(item) for item in value)
    return value


def split_plain(settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the settings that are plain data, ``{name: why not}`` for the others)."""
    kept: dict[str, Any] = {}
    dropped: dict[str, str] = {}
    for name, value in settings.items():
        try:
            kept[name] = plain(value)
        except NotPlain as why:
            dropped[name] = f"{why} cannot be written as JSON: pass {name}= again"
    return kept, dropped


def widget_dict(widget: ComputeWidget) -> dict[str, Any]:
    """The JSON-serialisable description of ``widget`` (see the module docstring)."""
    call, settings = widget._replay_settings()
    kept, dropped = split_plain(settings)
    controls, control_drops = split_plain(shown_controls(widget))
    view, _ = split_plain({name: getattr(widget, name) for name in widget._view_controls})
    figures, _ = split_plain(widget._figures())
    described = {
        "widget": type(widget).__name__,
        "version": SETTINGS_VERSION,
        "controls": controls,
        "view": view,
        "options": plain(widget._constructor_options()),
        "call": call,
        "settings": kept,
        "not_serialised": {**dropped, **{f"controls.{k}": v for k, v in control_drops.items()}},
        "figures": figures,
    }
    inputs = widget._replay_inputs()
    if inputs is not None:
        described["inputs"] = plain(inputs)
    return described


def check_dict(cls: type, d: Any) -> None:
    """Raise a clear error unless ``d`` is a settings dict of ``cls`` in a version this code reads."""
    if not isinstance(d, Mapping):
        raise TypeError(f"d must be a dict from {cls.__name__}.to_dict(), got {type(d).__name__}.")
    missing = [key for key in ("widget", "version", "controls") if key not in d]
    if missing:
        raise ValueError(f"d is not a widget settings dict (to_dict()): it has no {missing[0]!r} key.")
    if d["widget"] != cls.__name__:
        raise ValueError(
            f"d was written by {d['widget']}, not {cls.__name__}: use {d['widget']}.from_dict(...)."
        )
    if d["version"] != SETTINGS_VERSION:
        raise ValueError(
            f"d has settings version {d['version']!r}; this attr_widgets reads version {SETTINGS_VERSION}."
        )
    if not isinstance(d["controls"], Mapping):
        raise TypeError(f"d['controls'] must be a dict, got {type(d['controls']).__name__}.")


def replay(
    cls: type[ComputeWidget], model: Any, inputs: Any, d: Mapping[str, Any], kwargs: dict[str, Any]
) -> ComputeWidget:
    """A new ``cls`` widget showing what ``d`` describes: its controls and view controls, then ``kwargs``.

    Controls that the constructor takes are passed to it (one computation); the others (e.g. the directions'
    offsets) are set afterwards in one request. ``kwargs`` win over the dict (e.g. ``labels=``, a callable
    ``output=`` that the dict could not hold).
    """
    check_dict(cls, d)
    argument = cls._inputs_argument  # "inputs", or "data" for the directions
    init_names = set(inspect.signature(cls.__init__).parameters) - {"self", "model", argument}
    values = {**dict(d.get("view") or {}), **dict(d["controls"])}
    known = set(cls.class_trait_names(sync=True)) | init_names
    unknown = [name for name in values if name not in known]
    if unknown:
        raise ValueError(f"d['controls']: {unknown[0]!r} is not a control of {cls.__name__}.")
    settings = dict(d.get("settings") or {})
    values.update({name: settings[name] for name in REPLAYED_SETTINGS if name in settings})
    values.update(cls._init_from_settings(settings))
    values.update(dict(d.get("options") or {}))
    given = {name: value for name, value in values.items() if name in init_names}
    widget = cls(model, **{argument: inputs, **given, **kwargs})
    later = {
        name: value
        for name, value in d["controls"].items()
        if name not in init_names and name not in kwargs and name not in widget._derived_controls
    }
    if later:
        with widget._requests_suspended():
            for name, value in later.items():
                setattr(widget, name, value)
        widget._request()
    return widget


def shown_controls(widget: ComputeWidget) -> dict[str, Any]:
    """The compute controls of the result on screen (the present traits before the first one)."""
    result = widget.result
    if result is not None and isinstance(result.get("controls"), Mapping):
        return dict(result["controls"])
    return {name: getattr(widget, name) for name in widget.compute_keys}


def attribute_settings(
    method: str, target: int, baseline: Any, n_steps: Any, **common: Any
) -> dict[str, Any]:
    """``aw.attribute`` keyword arguments: baseline and n_steps only for the methods that read them.

    The rule is the engine's own (its cache key): a baseline for methods with one, a delta or a layer; steps
    for path and layer methods.
    """
    from attr_widgets.attribution._registry import specs

    spec = specs()[method]
    settings: dict[str, Any] = {"method": method, "target": int(target)}
    if spec.uses_baseline or spec.has_delta or spec.needs_layer:
        settings["baseline"] = baseline
    if spec.path or spec.needs_layer:
        settings["n_steps"] = n_steps
    return {**settings, **common}


def heatmap_figures(result: Mapping[str, Any] | None, scores: Any, sign_mode: str, outlier: float) -> dict:
    """The figures every attribution view shows: probability, completeness, steps, the colour extent."""
    from ._compare_agreement import scale_extent

    if result is None:
        return {}
    figures = {
        key: result.get(key)
        for key in ("target_prob", "completeness", "steps_taken", "display_scale", "error")
        if key in result
    }
    if scores is not None:
        figures["scale_extent"] = scale_extent([np.asarray(scores, dtype=np.float32)], sign_mode, outlier)
    return figures
