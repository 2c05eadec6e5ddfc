"""DirectionsWidget's spectrum and objective as an Altair (Vega-Lite) chart, for users who have Altair.

The widget never loads Vega: it draws the same data as inline SVG, so it works offline with no CDN. An
Altair chart renders offline too with a local renderer (``alt.renderers.enable("jupyter")`` or saving
to PNG/SVG with vl-convert).
"""

from __future__ import annotations

from typing import Any


def spectrum_chart(result: dict[str, Any] | None) -> Any:
    """Spectrum (each direction's share) and the objective curve, important directions vs PCA."""
    try:
        import altair as alt
    except ImportError as exc:
        raise ImportError(
            "spectrum_chart() needs altair (pip install altair); the widget itself draws the charts as SVG."
        ) from exc
    if result is None or not result.get("spectrum"):
        raise ValueError("spectrum_chart(): no directions on screen (the last request failed).")
    rows = []
    for kind, label in (("important", "important directions"), ("pca", "PCA")):
        values = result["spectrum"][kind]
        total = sum(v * v for v in values) or 1.0
        rows += [{"basis": label, "direction": i + 1, "share": v * v / total} for i, v in enumerate(values)]
    curve = []
    for kind, label in (("important", "important directions"), ("pca", "PCA")):
        for suffix, estimate in (("", "first order"), ("_sampled", "measured")):
            values = result["objective"].get(kind + suffix, [])
            start = values[0] if values and values[0] > 0 else 1.0
            curve += [
                {"basis": label, "estimate": estimate, "k": k, "objective": v, "relative": v / start}
                for k, v in enumerate(values)
            ]
    spectrum = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(x="direction:O", xOffset="basis:N", y="share:Q", color="basis:N")
        .properties(title="Spectrum: share of σ² per direction")
    )
    objective = (
        alt.Chart(alt.Data(values=curve))
        .mark_line(point=True)
        .encode(x="k:O", y="relative:Q", color="basis:N", strokeDash="estimate:N", tooltip=["objective:Q"])
        .properties(title="Objective E[(f(X) − f(μ + P_k(X − μ)))²] ÷ its value at k = 0")
    )
    return alt.hconcat(spectrum, objective).properties(
        title='Hilton, "A basis-invariant version of attribution" (2024)'
    )
