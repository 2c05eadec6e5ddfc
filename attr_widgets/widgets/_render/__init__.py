"""Kernel-side static renderers: what a widget shows, as PNG / SVG / script-free HTML, without a browser.

The pixels come from the view's own colour table and compositing (``colorscale``, a numpy port of
js/src/core/colorscale.ts), so the PNG of an AttributionWidget's heatmap equals its canvas. Used by the static
fallback beside every widget (attr_widgets/widgets/_fallback.py), by ``%load_ext attr_widgets``'s display
formatters and by the offline export.

API (stable): ``png_of(widget) -> bytes | None``, ``svg_of(widget) -> str | None``,
``html_of(widget) -> str``,
``heatmap_png(values, image, mode, ...) -> bytes``.
"""

from __future__ import annotations

import base64
import html
from typing import Any

import numpy as np

from attr_widgets.widgets._render.figures import (
    bars_svg,
    heatmap_pixels,
    raster_svg,
    spectrum_svg,
    token_spans_html,
    token_spans_svg,
    upscale,
    with_colour_bar,
)
from attr_widgets.widgets._render.png import encode_png

__all__ = ["heatmap_png", "heatmap_rgba", "html_of", "png_of", "svg_of", "img_tag"]


def heatmap_rgba(widget: Any) -> np.ndarray | None:
    """The native-resolution RGBA composite of an AttributionWidget's heatmap canvas (or None)."""
    result = getattr(widget, "result", None)
    image = getattr(widget, "image", None)
    if not result or result.get("heatmap") is None or image is None:
        return None
    from attr_widgets.widgets._serialize import unpack

    values = unpack(result["heatmap"])
    pixels, _ = heatmap_pixels(
        values,
        unpack(image),
        widget.sign_mode,
        opacity=widget.opacity,
        outlier_percent=widget.outlier_percent,
    )
    return pixels


def heatmap_png(
    values: np.ndarray,
    image: np.ndarray | None = None,
    mode: str = "signed",
    *,
    opacity: float = 0.85,
    outlier_percent: float = 2.0,
    extent: float | None = None,
    size: int | None = 320,
    colour_bar: bool = True,
    title: str | None = None,
) -> bytes:
    """PNG of ``values`` ([H, W]) over ``image`` ([H, W, 3|4] uint8 or None), like the view's canvas.

    Upscaled by an integer factor towards ``size`` px on the longer side, with a colour bar under it.
    """
    pixels, _ = heatmap_pixels(
        values, image, mode, opacity=opacity, outlier_percent=outlier_percent, extent=extent
    )
    if size:
        pixels = upscale(pixels, max(1, size // max(pixels.shape[:2])))
    if colour_bar:
        pixels = with_colour_bar(pixels, mode)
    return encode_png(pixels, title)


def img_tag(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"/>'


def _class_name(widget: Any) -> str:
    return type(widget).__name__


def _label_of(widget: Any, index: Any) -> str:
    labels = list(getattr(widget, "labels", []) or [])
    try:
        return str(labels[int(index)])
    except (IndexError, TypeError, ValueError):
        return str(index)


def _scale_line(widget: Any) -> str:
    """The colour bar's ends in words (the PNG has no text), as an HTML line."""
    return f'<div style="font:11px sans-serif;color:#555">{html.escape(_scale_text(widget))}</div>'


def _scale_text(widget: Any) -> str:
    """The colour bar's ends in words."""
    from attr_widgets.widgets._render.colorscale import scale_extent
    from attr_widgets.widgets._serialize import unpack

    mode = widget.sign_mode
    if _class_name(widget) == "CompareWidget":
        extents = list(widget.extents.values())
        extent = max(extents) if extents else 0.0
    else:
        extent = scale_extent(unpack(widget.result["heatmap"]), mode, widget.outlier_percent)
    low = {"signed": -extent, "negative": 0.0}.get(mode, 0.0)
    high = -extent if mode == "negative" else extent
    clip = f"clipped at the {100 - widget.outlier_percent:g}th percentile"
    return f"scale: {low:.3g} … {high:.3g} ({mode}, {clip})"


def png_of(widget: Any, scale: int = 1) -> bytes | None:
    """PNG of what an image widget shows (heatmap + colour bar; CompareWidget: the grid).

    Each input pixel is a block of ``scale × (canvas_size // longest side)`` pixels: at ``scale=2`` the
    heatmap is pixel for pixel the one in the PNG of the view's Export menu
    (tests/browser/test_export_in_browser.py).
    """
    name = _class_name(widget)
    if name == "AttributionWidget":
        pixels = heatmap_rgba(widget)
        if pixels is None:
            return None
        pixels = upscale(pixels, scale * max(1, widget.canvas_size // max(pixels.shape[:2])))
        return encode_png(with_colour_bar(pixels, widget.sign_mode), f"{widget.method} attribution")
    if name == "CompareWidget" and getattr(widget, "kind", "image") == "image":
        return _compare_png(widget, scale)
    return None


def _compare_png(widget: Any, scale: int = 1) -> bytes | None:
    from attr_widgets.widgets._serialize import unpack

    maps = widget.maps
    if not maps:
        return None
    extents = widget.extents
    image = None if widget.image is None else unpack(widget.image)
    tiles = []
    for method, values in maps.items():
        img = image if image is not None and image.shape[:2] == values.shape else None
        pixels, _ = heatmap_pixels(
            values, img, widget.sign_mode, opacity=widget.opacity, extent=extents.get(method)
        )
        tiles.append(upscale(pixels, scale * max(1, widget.canvas_size // max(pixels.shape[:2]))))
    h = max(t.shape[0] for t in tiles)
    gap = 6
    w = sum(t.shape[1] for t in tiles) + gap * (len(tiles) - 1)
    grid = np.full((h, w, 4), 255, np.uint8)
    x = 0
    for t in tiles:
        grid[: t.shape[0], x : x + t.shape[1]] = t
        x += t.shape[1] + gap
    return encode_png(with_colour_bar(grid, widget.sign_mode), "methods compared: " + ", ".join(maps))


def _tokens_shown(widget: Any) -> tuple[list[str], np.ndarray] | None:
    """A text widget's (token texts, scores), or None before a result or while they disagree.

    Between a change of example and its result, ``tokens`` is the new example's, the scores the old one's.
    """
    scores = widget.token_scores
    texts = [str(t.get("text", "")) for t in widget.tokens]
    return None if scores is None or len(scores) != len(texts) else (texts, scores)


def svg_of(widget: Any) -> str | None:
    """SVG of what a widget shows (None before a result).

    Tabular bars and the directions' spectrum as vector charts; token highlights as text on coloured boxes; an
    image widget's heatmap (and colour bar) as its PNG inside an ``<image>``, caption and scale as SVG text.
    """
    name = _class_name(widget)
    if name == "TextAttributionWidget":
        tokens = _tokens_shown(widget)
        return None if tokens is None else token_spans_svg(*tokens, widget.sign_mode, widget.outlier_percent)
    if name in ("AttributionWidget", "CompareWidget"):
        png = png_of(widget)
        if png is None:
            return None
        return raster_svg(png, _caption_of(widget), _scale_text(widget))
    if name == "TabularAttributionWidget":
        scores = widget.feature_scores
        return None if scores is None else bars_svg(list(widget.feature_names), scores, widget.sign_mode)
    if name == "DirectionsWidget":
        projection = widget.projection
        if projection is None:
            return None
        return spectrum_svg(
            projection.singular_values.detach().cpu().numpy(), "singular values of the directions"
        )
    return None


def _caption_of(widget: Any) -> str:
    """Class · method · target label: the figure's title line."""
    caption = _class_name(widget)
    method = getattr(widget, "method", None)
    target = getattr(widget, "target", None)
    if isinstance(method, str):
        caption += f" · {method}"
    if isinstance(target, int):
        caption += f" · target {_label_of(widget, target)}"
    return caption


def html_of(widget: Any) -> str:
    """Script-free HTML of what ``widget`` shows now (a placeholder line before its first result)."""
    name = _class_name(widget)
    body = ""
    if name == "TextAttributionWidget":
        tokens = _tokens_shown(widget)
        if tokens is not None:
            body = token_spans_html(*tokens, widget.sign_mode, widget.outlier_percent)
    else:
        png = png_of(widget)
        if png is not None:
            body = img_tag(png, f"{name} heatmap") + _scale_line(widget)
            if name == "CompareWidget":
                order = ", ".join(widget.maps)
                body += (
                    f'<div style="font:11px sans-serif;color:#555">left to right: {html.escape(order)}</div>'
                )
        else:
            svg = svg_of(widget)
            body = svg or ""
    caption = _caption_of(widget)
    if not body:
        body = "<em>no result yet</em>"
    return (
        '<div class="aw-static" data-aw-static="1">'
        f'<div style="font:12px sans-serif;color:#555">{html.escape(caption)}</div>{body}</div>'
    )
