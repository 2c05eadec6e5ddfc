"""Static figures drawn from the views' colour table.

Heatmap composites, colour bars, token spans,
feature bars. Pixels as numpy arrays; HTML/SVG as strings with every token text and label escaped.
"""

from __future__ import annotations

import html

import numpy as np

from attr_widgets.widgets._render.colorscale import color_of, composite, normalise, scale_extent

BAR_HEIGHT = 12


def heatmap_pixels(
    values: np.ndarray,
    image: np.ndarray | None,
    mode: str = "signed",
    *,
    opacity: float = 0.85,
    outlier_percent: float = 2.0,
    extent: float | None = None,
) -> tuple[np.ndarray, float]:
    """The ``[H, W, 4]`` RGBA composite the view's heatmap canvas draws (native resolution) and its extent.

    ``image``: ``[H, W, 3|4]`` uint8 (None: a white background, as an input-less heatmap).
    """
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2:
        raise ValueError(f"values must be an [H, W] heatmap, got shape {values.shape}.")
    if image is None:
        image = np.full((*values.shape, 4), 255, np.uint8)
    ext = scale_extent(values, mode, outlier_percent) if extent is None else float(extent)
    return composite(image, values, mode, ext, opacity), ext


def colour_bar(mode: str, width: int, height: int = BAR_HEIGHT) -> np.ndarray:
    """A horizontal colour bar of ``mode`` (left: −extent for signed, 0 otherwise; right: +extent) as RGBA."""
    lo = -1.0 if mode in ("signed", "negative") else 0.0
    t = np.linspace(lo, 1.0, width)
    if mode == "negative":
        t = np.linspace(0.0, 1.0, width)
    # Over white with the overlay's alpha at full opacity, like the view's legend: 0 is white.
    alpha = np.sqrt(np.minimum(1.0, np.abs(t)))[:, None]
    rgb = np.rint(np.clip(255 * (1 - alpha) + color_of(mode, t) * alpha, 0, 255)).astype(np.uint8)
    bar = np.empty((height, width, 4), np.uint8)
    bar[..., :3] = rgb[None]
    bar[..., 3] = 255
    return bar


def upscale(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling (the view's crisp pixels)."""
    return pixels if factor <= 1 else pixels.repeat(factor, 0).repeat(factor, 1)


def with_colour_bar(pixels: np.ndarray, mode: str, gap: int = 6) -> np.ndarray:
    """The composite with a colour bar under it on a white margin."""
    h, w = pixels.shape[:2]
    out = np.full((h + gap + BAR_HEIGHT, w, 4), 255, np.uint8)
    out[:h] = pixels
    out[h + gap :] = colour_bar(mode, w)
    return out


def css_colour(mode: str, value: float, extent: float, max_alpha: float = 0.85) -> str:
    """The rgba() background of one value: the mode's colour with the overlay's alpha over white."""
    t = float(normalise(mode, np.asarray(value, np.float64), extent))
    r, g, b = (int(round(c)) for c in color_of(mode, np.asarray(t, np.float64)))
    alpha = max_alpha * float(np.sqrt(min(1.0, abs(t))))
    return f"rgba({r},{g},{b},{alpha:.3f})"


def token_spans_html(
    texts: list[str], scores: np.ndarray, mode: str = "signed", outlier_percent: float = 0.0
) -> str:
    """Token highlights: one escaped ``<span>`` per token, its background the score's colour."""
    scores = np.asarray(scores, dtype=np.float32)
    ext = scale_extent(scores, mode, outlier_percent)
    spans = []
    for text, score in zip(texts, scores, strict=True):
        spans.append(
            f'<span class="aw-token" title="{float(score):.4g}" '
            f'style="background:{css_colour(mode, score, ext)};'
            f'padding:1px 2px;margin:1px;border-radius:2px">{html.escape(text)}</span>'
        )
    return '<div class="aw-static-tokens" style="line-height:1.9">' + " ".join(spans) + "</div>"


def bars_svg(names: list[str], scores: np.ndarray, mode: str = "signed", width: int = 420) -> str:
    """Horizontal feature bars (signed: from a centre line), names escaped."""
    scores = np.asarray(scores, dtype=np.float64)
    ext = float(np.max(np.abs(scores))) if scores.size and np.any(scores) else 1.0
    row, label_w = 18, 140
    half = (width - label_w - 10) / 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{row * len(names) + 4}">']
    for i, (name, s) in enumerate(zip(names, scores, strict=True)):
        y = i * row + 2
        length = abs(s) / ext * half
        x = label_w + half + (0 if s >= 0 else -length)
        fill = css_colour("signed", s, ext, max_alpha=1.0)
        parts.append(
            f'<text x="{label_w - 4}" y="{y + 12}" text-anchor="end" font-size="11">'
            f"{html.escape(str(name))}</text>"
            f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{row - 4}" fill="{fill}">'
            f"<title>{html.escape(str(name))}: {s:.4g}</title></rect>"
        )
    parts.append(
        f'<line x1="{label_w + half}" x2="{label_w + half}" y1="0" y2="{row * len(names) + 4}" '
        'stroke="#888"/></svg>'
    )
    return "".join(parts)


def spectrum_svg(
    values: np.ndarray, title: str = "singular values", width: int = 360, height: int = 120
) -> str:
    """A bar chart of a spectrum (e.g. a Projection's singular values), descending."""
    values = np.asarray(values, dtype=np.float64).ravel()
    top = float(values.max()) if values.size and values.max() > 0 else 1.0
    bw = width / max(1, values.size)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 18}">',
        f'<text x="2" y="12" font-size="11">{html.escape(title)}</text>',
    ]
    for i, v in enumerate(values):
        h = max(0.0, v) / top * height
        parts.append(
            f'<rect x="{i * bw + 1:.1f}" y="{18 + height - h:.1f}" width="{max(1.0, bw - 2):.1f}" '
            f'height="{h:.1f}" fill="rgb(33,113,181)"><title>{i}: {v:.4g}</title></rect>'
        )
    return "".join(parts) + "</svg>"


def curve_svg(x: np.ndarray, y: np.ndarray, title: str, width: int = 320, height: int = 160) -> str:
    """A polyline of a curve (deletion / insertion fraction → score)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    x0, x1 = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
    y0, y1 = (float(y.min()), float(y.max())) if y.size else (0.0, 1.0)
    sx = (width - 20) / ((x1 - x0) or 1.0)
    sy = (height - 30) / ((y1 - y0) or 1.0)
    pts = " ".join(
        f"{10 + (a - x0) * sx:.1f},{height - 10 - (b - y0) * sy:.1f}" for a, b in zip(x, y, strict=True)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<text x="2" y="12" font-size="11">{html.escape(title)}</text>'
        f'<polyline points="{pts}" fill="none" stroke="rgb(239,59,44)" stroke-width="1.5"/></svg>'
    )


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def raster_svg(png: bytes, caption: str, scale: str) -> str:
    """An image figure as SVG: caption and scale as text around the PNG (a heatmap is pixels, not paths)."""
    import base64

    w, h = _png_size(png)
    width = max(w, 320)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{width}" height="{h + 40}" font-family="sans-serif">'
        f'<text x="0" y="13" font-size="12" fill="#555">{html.escape(caption)}</text>'
        f'<image x="0" y="20" width="{w}" height="{h}" image-rendering="pixelated" '
        f'href="data:image/png;base64,{data}" xlink:href="data:image/png;base64,{data}"/>'
        f'<text x="0" y="{h + 34}" font-size="11" fill="#555">{html.escape(scale)}</text></svg>'
    )


def token_spans_svg(
    texts: list[str], scores: np.ndarray, mode: str = "signed", outlier_percent: float = 0.0, width: int = 560
) -> str:
    """Token highlights as SVG: each token's text on a box of its score's colour, wrapped at ``width``.

    Token widths are estimated (0.6 em per character at 13 px): SVG has no text layout of its own.
    """
    scores = np.asarray(scores, dtype=np.float32)
    ext = scale_extent(scores, mode, outlier_percent)
    size, line, pad = 13, 22, 3
    x = y = 0.0
    parts = []
    for text, score in zip(texts, scores, strict=True):
        w = 0.6 * size * max(1, len(text)) + 2 * pad
        if x > 0 and x + w > width:
            x, y = 0.0, y + line
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{line - 4}" rx="2" '
            f'fill="{css_colour(mode, float(score), ext)}"><title>{float(score):.4g}</title></rect>'
            f'<text x="{x + pad:.1f}" y="{y + size + 1:.1f}" font-size="{size}">{html.escape(text)}</text>'
        )
        x += w + 4
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + line:.0f}" '
        f'font-family="monospace">{"".join(parts)}</svg>'
    )
