"""The evaluation curves on screen as an Altair (Vega-Lite) chart, for users who have Altair.

The widgets draw the same figures as inline SVG (no Vega in the bundle, no CDN; why:
tests/benchmarks/bench_charts.py). ``w.evaluation_chart()`` gives them as data a user can restyle, save
with vl-convert, or put in a paper: the deletion and insertion curves (Petsiuk, Das and Saenko, "RISE",
2018) of the figures on screen.
"""

from __future__ import annotations

from typing import Any

CURVES = ("deletion", "insertion")


def _rows(figures: dict[str, Any], series: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in CURVES:
        figure = figures.get(name)
        if not figure:
            continue
        for order, scores in ((series, figure["scores"]), ("random order", figure["random_scores"])):
            rows += [
                {"curve": name, "series": order, "fraction": f, "score": s, "auc": figure["auc"],
                 "reference": order == "random order"}  # fmt: skip
                for f, s in zip(figure["fractions"], scores, strict=True)
            ]
    return rows


def evaluation_chart(evaluation_figures: dict[str, Any], per_method: bool) -> Any:
    """Deletion and insertion curves side by side; one line per method (CompareWidget) or the attribution's.

    The random order is drawn dashed (one per chart: it is the same ranking for every method).
    """
    try:
        import altair as alt
    except ImportError as exc:
        raise ImportError(
            "evaluation_chart() needs altair (pip install altair); the widget itself draws the charts as SVG."
        ) from exc
    figures = evaluation_figures.get("figures") if evaluation_figures else None
    rows: list[dict[str, Any]] = []
    if figures and per_method:
        for method, own in figures.items():
            method_rows = _rows(own, method)
            random = [r for r in method_rows if r["series"] == "random order"]
            rows += [r for r in method_rows if r["series"] != "random order"]
            if not any(r["series"] == "random order" for r in rows):
                rows += random
    elif figures:
        rows = _rows(figures, "attribution order")
    if not rows:
        raise ValueError(
            "evaluation_chart(): no deletion or insertion curve on screen; run w.evaluate() first."
        )
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_line()
        .encode(
            x=alt.X("fraction:Q", title="fraction of pixels removed / inserted"),
            y=alt.Y("score:Q", title="probability of the target", scale=alt.Scale(domain=[0, 1])),
            color="series:N",
            strokeDash=alt.StrokeDash("reference:N", legend=None),
            tooltip=["series:N", "fraction:Q", "score:Q", "auc:Q"],
        )
        .properties(width=260, height=150)
        .facet(column=alt.Column("curve:N", sort=list(CURVES), title=None))
        .properties(title='Deletion and insertion (Petsiuk, Das and Saenko, "RISE", 2018)')
    )
