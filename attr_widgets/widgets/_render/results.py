"""Static pictures of the library's result objects, for ``%load_ext attr_widgets``'s display formatters.

``Attribution``, ``Projection``, ``ErasureResult``, ``Curve``, ``RandomizationResult``; the colour table of
views.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from attr_widgets.widgets._render.figures import bars_svg, curve_svg, spectrum_svg, token_spans_html
from attr_widgets.widgets._render.png import encode_png


def _first(values: Any) -> np.ndarray:
    return values.detach().to("cpu").double().numpy()[0]


def attribution_kind(attribution: Any) -> str:
    """How an Attribution is drawn, by its values' shape.

    ``[B, C, H, W]`` image, ``[B, T, D]`` tokens, ``[B, F]`` features, anything else: nothing.
    """
    return {4: "image", 3: "tokens", 2: "features"}.get(attribution.values.dim(), "none")


def attribution_png(attribution: Any) -> bytes | None:
    """The first example's heatmap (channel sum) with a colour bar, for image attributions."""
    if attribution_kind(attribution) != "image":
        return None
    from attr_widgets.widgets._render import heatmap_png

    heat = _first(attribution.values).sum(axis=0).astype(np.float32)
    return heatmap_png(heat, None, "signed", title=f"{attribution.method} attribution")


def _caption(text: str) -> str:
    return f'<div style="font:12px sans-serif;color:#555">{html.escape(text)}</div>'


def attribution_html(attribution: Any) -> str:
    kind = attribution_kind(attribution)
    caption = _caption(f"Attribution · {attribution.method} · values {tuple(attribution.values.shape)}")
    if kind == "image":
        from attr_widgets.widgets._render import img_tag

        png = attribution_png(attribution)
        return caption + (img_tag(png, f"{attribution.method} heatmap") if png else "")
    if kind == "tokens":
        scores = _first(attribution.values).sum(axis=-1).astype(np.float32)
        tokens = attribution.settings.get("tokens") if isinstance(attribution.settings, dict) else None
        texts = (
            [str(t) for t in tokens]
            if tokens and len(tokens) == scores.size
            else [f"#{i}" for i in range(scores.size)]
        )
        return caption + token_spans_html(texts, scores)
    if kind == "features":
        scores = _first(attribution.values)
        names = attribution.settings.get("feature_names") if isinstance(attribution.settings, dict) else None
        labels = (
            [str(n) for n in names]
            if names and len(names) == scores.size
            else [f"x{i}" for i in range(scores.size)]
        )
        return caption + bars_svg(labels, scores)
    return caption


def projection_html(projection: Any) -> str:
    values = projection.singular_values.detach().to("cpu").double().numpy()
    values = values.reshape(-1, values.shape[-1])[0]
    return _caption(f"Projection · {projection.method} · rank {values.size}") + spectrum_svg(values)


def curve_html(curve: Any) -> str:
    x = curve.fractions.detach().cpu().double().numpy()
    y = curve.scores.detach().cpu().double().numpy().reshape(-1, x.size).mean(axis=0)
    return _caption(f"{curve.name} curve · {curve.score} · mean AUC {curve.mean_auc:.4g}") + curve_svg(
        x, y, f"{curve.name}: mean {curve.score} vs fraction"
    )


def erasure_html(result: Any) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(name))}</td><td>{float(r.fraction_removed.mean()):.3f}</td>"
        f"<td>{float(r.flipped.double().mean()):.2f}</td><td>{float(r.js_divergence.mean()):.4f}</td></tr>"
        for name, r in result.rankings.items()
    )
    return (
        _caption("ErasureResult")
        + "<table><tr><th>ranking</th><th>fraction removed</th><th>flipped</th><th>JS at flip</th></tr>"
        + rows
        + "</table>"
    )


def randomization_html(result: Any) -> str:
    rho = result.spearman.detach().cpu().double().numpy().reshape(len(result.layers), -1).mean(axis=1)
    names = [f"{i + 1}. {layer}" for i, layer in enumerate(result.layers)]
    kind = "cascading" if result.cascading else "independent"
    # Spearman ρ per randomised layer as bars: a sane method falls towards 0 as layers are randomised.
    return _caption(f"RandomizationResult · {result.method} · {kind} · mean Spearman ρ") + bars_svg(
        names, rho
    )


def png_encode(pixels: np.ndarray) -> bytes:
    return encode_png(pixels)
