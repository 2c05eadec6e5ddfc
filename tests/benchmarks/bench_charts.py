"""Benchmark: the charts' renderer — our dependency-free SVG charts vs bundling Vega-Lite (vega-embed).

Why the project draws its charts itself (docs/ARCHITECTURE.md, "Charts"): Altair's users expect Vega-Lite, and
the widgets could carry vega-embed in their bundle to stay offline. This prints what that would cost, side by
side in one run: bundle size (minified, gzipped) and the time to first render of the same chart — the
evaluation panel's deletion curve (two series of 51 points) — in headless Chromium, from a page that has the
script already loaded (parse + run of the script counted separately).

    python tests/benchmarks/bench_charts.py [--repeats 20]

Needs node/npm (vega@5, vega-lite@5, vega-embed@6 are installed into a scratch folder from the npm registry
on first run) and Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRATCH = Path(tempfile.gettempdir()) / "attr_widgets_bench_charts"
VEGA = ("vega@5", "vega-lite@5", "vega-embed@6", "esbuild@0.25")

CHARTS_TS = (REPO / "js" / "src" / "views" / "evaluation" / "charts.ts").as_posix()
OURS_ENTRY = """
import { lineChart } from "CHARTS_TS";
window.renderChart = (el, data) => {
  const chart = lineChart(data.series, { title: "deletion", kind: "deletion", xLabel: "fraction removed",
    yLabel: "probability", yRange: [0, 1] });
  el.append(chart.el);
};
""".replace("CHARTS_TS", CHARTS_TS)

VEGA_ENTRY = """
import embed from "vega-embed";
window.renderChart = (el, data) => embed(el, data.spec, { actions: false, renderer: "svg" });
"""


def series() -> list[dict]:
    xs = [i / 50 for i in range(51)]
    return [
        {"name": "attribution order", "cls": "aw-eval-s0", "x": xs, "y": [max(0.0, 1 - 2 * x) for x in xs]},
        {"name": "random order", "cls": "aw-eval-random", "x": xs, "y": [1 - x for x in xs], "dashed": True},
    ]


def vega_spec(data: list[dict]) -> dict:
    values = [
        {"series": s["name"], "x": x, "y": y} for s in data for x, y in zip(s["x"], s["y"], strict=True)
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": 300, "height": 150, "data": {"values": values}, "mark": "line",
        "encoding": {"x": {"field": "x", "type": "quantitative", "title": "fraction removed"},
                     "y": {"field": "y", "type": "quantitative", "title": "probability"},
                     "color": {"field": "series", "type": "nominal"}},
    }  # fmt: skip


def bundle(entry: str, name: str) -> Path:
    SCRATCH.mkdir(parents=True, exist_ok=True)
    if not (SCRATCH / "node_modules" / "vega-embed").exists():
        subprocess.run(["npm", "init", "-y"], cwd=SCRATCH, check=True, capture_output=True)
        subprocess.run(["npm", "install", "--silent", *VEGA], cwd=SCRATCH, check=True)
    source = SCRATCH / f"{name}.js"
    source.write_text(entry)
    out = SCRATCH / f"{name}.bundle.js"
    esbuild = SCRATCH / "node_modules" / ".bin" / "esbuild"
    subprocess.run([str(esbuild), str(source), "--bundle", "--minify", "--format=iife", f"--outfile={out}"],
                   cwd=SCRATCH, check=True, capture_output=True)  # fmt: skip
    return out


def time_in_chromium(script: Path, data: dict, repeats: int) -> tuple[float, float]:
    """(ms to load and run the script, median ms to draw the chart into a fresh element)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        page.set_content("<html><body></body></html>")
        load = page.evaluate(
            """async (code) => { const t = performance.now(); const s = document.createElement("script");
               s.textContent = code; document.body.append(s); return performance.now() - t; }""",
            script.read_text(),
        )
        times = []
        for _ in range(repeats):
            times.append(page.evaluate(
                """async (data) => { const el = document.createElement("div"); document.body.append(el);
                   const t = performance.now(); await window.renderChart(el, data);
                   await new Promise(requestAnimationFrame);
                   const ms = performance.now() - t; el.remove(); return ms; }""",
                data,
            ))  # fmt: skip
        browser.close()
    return load, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    data = series()
    rows = []
    for name, entry, payload in (
        ("ours (inline SVG, views/evaluation/charts.ts)", OURS_ENTRY, {"series": data}),
        ("vega-embed 6 + vega 5 + vega-lite 5", VEGA_ENTRY, {"spec": vega_spec(data)}),
    ):
        script = bundle(entry, name.split()[0].replace("-", "_"))
        raw = script.read_bytes()
        load, draw = time_in_chromium(script, payload, args.repeats)
        rows.append([name, len(raw) / 1024, len(gzip.compress(raw)) / 1024, load, draw])
    widget = (REPO / "attr_widgets" / "static" / "attribution.js").read_bytes()
    print(f"A deletion-curve chart (2 × 51 points), headless Chromium, median of {args.repeats}")
    print("| renderer | bundle KB | gzip KB | load + run script ms | first render ms |")
    print("|---|---|---|---|---|")
    for name, kb, gz, load, draw in rows:
        print(f"| {name} | {kb:.1f} | {gz:.1f} | {load:.1f} | {draw:.2f} |")
    print(f"| (the whole AttributionWidget bundle, for scale) | {len(widget) / 1024:.1f} | "
          f"{len(gzip.compress(widget)) / 1024:.1f} | | |")  # fmt: skip
    ratios = {"bundle": rows[1][1] / rows[0][1], "first_render": rows[1][4] / max(rows[0][4], 1e-3)}
    print("vega / ours:", json.dumps(ratios))


if __name__ == "__main__":
    main()
