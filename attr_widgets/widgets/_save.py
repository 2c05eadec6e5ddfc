"""``w.save(path)``: one widget to a file, chosen by the path's suffix."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._base import ComputeWidget

SUFFIXES = (".png", ".svg", ".json", ".html")


def _renderer(name: str) -> object:
    """A function of the kernel-side renderers (``_render``: PNG and SVG without a browser), imported late."""
    module = f"{__package__}._render"
    try:
        render = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise  # the renderers are there but something they import is not: that error is the news
        raise NotImplementedError(
            f"save: {name.split('_')[0].upper()} output needs the kernel-side renderers "
            "(attr_widgets.widgets._render), which this installation does not have; save to .html or .json."
        ) from exc
    return getattr(render, name)


def save(widget: ComputeWidget, path: Path, *, scale: int = 1) -> Path:
    """Write ``widget`` to ``path`` (see :meth:`ComputeWidget.save`); returns ``path``."""
    suffix = path.suffix.lower()  # checked before anything is written
    if suffix not in SUFFIXES:
        raise ValueError(
            f"path={str(path)!r}: unknown suffix {path.suffix!r}; use one of {', '.join(SUFFIXES)}."
        )
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer (pixels per view pixel), got {scale!r}.")
    if suffix == ".json":
        path.write_text(json.dumps(widget.to_dict(), indent=2) + "\n", encoding="utf-8")
    elif suffix == ".html":
        from ._html import offline_html

        path.write_text(offline_html(widget), encoding="utf-8")
    elif suffix == ".png":
        png = _renderer("png_of")(widget, scale=scale)  # type: ignore[operator]
        if png is None:
            raise ValueError(f"path={str(path)!r}: {type(widget).__name__} has no PNG rendering; use .html.")
        path.write_bytes(png)
    else:
        svg = _renderer("svg_of")(widget)  # type: ignore[operator]
        if svg is None:
            raise ValueError(f"path={str(path)!r}: {type(widget).__name__} has no SVG rendering; use .html.")
        path.write_text(svg, encoding="utf-8")
    return path
