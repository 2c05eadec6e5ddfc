/**
 * The spectrum and the objective curve as inline SVG (no chart library, so the widget works offline with no CDN):
 * each direction's share of σ² for the important directions and for PCA at the same layer, and the first-order
 * objective E[(f(X) − f(μ + P_k(X − μ)))²] as k directions are kept.
 */
import { h } from "../../core/dom";
import type { View } from "../../core/view";
import type { DirectionsKey, DirectionsStore, Objective } from "../../traits/directions";

const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 260;
const HEIGHT = 120;
const PAD = { left: 34, right: 8, top: 8, bottom: 20 };

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** σᵢ² / Σσ²: each direction's share (a singular value squared is its share of the variance it explains). */
export function shares(values: number[]): number[] {
  const total = values.reduce((sum, v) => sum + v * v, 0);
  return values.map((v) => (total > 0 ? (v * v) / total : 0));
}

function frame(title: string, kind: string): SVGSVGElement {
  const root = svg("svg", {
    class: "aw-dir-chart",
    "data-chart": kind,
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: WIDTH,
    height: HEIGHT,
    role: "img",
    "aria-label": title,
  });
  root.append(svg("title", {}, title));
  const x0 = PAD.left;
  const y1 = HEIGHT - PAD.bottom;
  root.append(svg("line", { class: "aw-dir-axis", x1: x0, y1, x2: WIDTH - PAD.right, y2: y1 }));
  root.append(svg("line", { class: "aw-dir-axis", x1: x0, y1: PAD.top, x2: x0, y2: y1 }));
  return root;
}

function yLabel(root: SVGSVGElement, y: number, text: string): void {
  root.append(svg("text", { class: "aw-dir-tick", x: PAD.left - 4, y: y + 3, "text-anchor": "end" }, text));
}

function compact(value: number): string {
  const size = Math.abs(value);
  if (size >= 1e4 || (size < 0.01 && value !== 0)) return value.toExponential(1);
  return size >= 100 ? value.toFixed(0) : value.toPrecision(2);
}

export function spectrumChart(important: number[], pca: number[]): SVGSVGElement {
  const root = frame("Share of σ² per direction: important directions vs PCA", "spectrum");
  const a = shares(important);
  const b = shares(pca);
  const count = Math.max(a.length, b.length, 1);
  const top = Math.max(1e-12, ...a, ...b);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / count;
  const bar = Math.max(1, slot * 0.38);
  const y = (v: number) => PAD.top + plotH * (1 - v / top);
  for (const [values, cls, shift] of [
    [a, "aw-dir-important", 0.1],
    [b, "aw-dir-pca", 0.5],
  ] as const) {
    values.forEach((v, i) => {
      const rect = svg("rect", {
        class: `aw-dir-bar ${cls}`,
        x: PAD.left + slot * i + slot * shift,
        y: y(v),
        width: bar,
        height: Math.max(0, PAD.top + plotH - y(v)),
        "data-index": i,
      });
      rect.append(svg("title", {}, `d${i + 1}: ${(v * 100).toFixed(1)}%`));
      root.append(rect);
    });
  }
  for (let i = 0; i < count; i += Math.max(1, Math.ceil(count / 8))) {
    root.append(svg("text", { class: "aw-dir-tick", x: PAD.left + slot * (i + 0.5), y: HEIGHT - 6, "text-anchor": "middle" }, String(i + 1)));
  }
  yLabel(root, y(top), `${Math.round(top * 100)}%`);
  yLabel(root, y(0), "0");
  return root;
}

/** Each curve divided by its value at k = 0 (the two estimates differ in scale when f is far from linear). */
export function relative(values: number[]): number[] {
  const start = values[0] ?? 0;
  return values.map((v) => (start > 0 ? v / start : 0));
}

/** One curve per (basis, estimate): first order solid/dashed lines, measured hollow rings. */
export function objectiveChart(objective: Objective): SVGSVGElement {
  const root = frame("Objective with k directions kept, relative to k = 0: important directions vs PCA", "objective");
  const curves = [
    { values: objective.pca, raw: objective.pca, cls: "aw-dir-pca", kind: "first-order" },
    { values: objective.important, raw: objective.important, cls: "aw-dir-important", kind: "first-order" },
    { values: objective.pca_sampled ?? [], raw: objective.pca_sampled ?? [], cls: "aw-dir-pca", kind: "measured" },
    { values: objective.important_sampled ?? [], raw: objective.important_sampled ?? [], cls: "aw-dir-important", kind: "measured" },
  ].map((c) => ({ ...c, values: relative(c.values) }));
  const count = Math.max(...curves.map((c) => c.values.length), 1);
  // The measured objective of a nonlinear f can exceed its k = 0 value (projecting can hurt more than
  // removing): the axis grows to hold every ring instead of drawing outside the chart.
  const highest = Math.max(1, ...curves.flatMap((c) => c.values.filter((v) => Number.isFinite(v))));
  const top = highest > 1 ? Math.ceil(highest * 4) / 4 : 1;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (k: number) => PAD.left + (count > 1 ? (plotW * k) / (count - 1) : plotW / 2);
  const y = (v: number) => PAD.top + plotH * (1 - v / top);
  for (const { values, raw, cls, kind } of curves) {
    if (values.length === 0) continue;
    if (kind === "first-order") {
      root.append(svg("polyline", { class: `aw-dir-line ${cls}`, points: values.map((v, k) => `${x(k).toFixed(1)},${y(v).toFixed(1)}`).join(" ") }));
    }
    values.forEach((v, k) => {
      const dot = svg("circle", { class: `aw-dir-dot ${cls}`, "data-kind": kind, cx: x(k), cy: y(v), r: kind === "measured" ? 3 : 2.2 });
      dot.append(svg("title", {}, `k=${k}: ${compact(raw[k])} (${kind})`));
      root.append(dot);
    });
  }
  for (let k = 0; k < count; k += Math.max(1, Math.ceil(count / 8))) {
    root.append(svg("text", { class: "aw-dir-tick", x: x(k), y: HEIGHT - 6, "text-anchor": "middle" }, String(k)));
  }
  yLabel(root, y(top), `${Math.round(top * 100)}%`);
  if (top > 1) yLabel(root, y(1), "100%");
  yLabel(root, y(0), "0");
  return root;
}

export function createSpectrum(store: DirectionsStore): View<DirectionsKey> {
  const charts = h("div", { class: "aw-dir-charts" });
  const legend = h(
    "div",
    { class: "aw-dir-legend" },
    h("span", { class: "aw-dir-swatch aw-dir-important" }),
    "important directions",
    h("span", { class: "aw-dir-swatch aw-dir-pca" }),
    "PCA",
  );
  let drawn: unknown = null;

  function update(changed: Set<DirectionsKey>): void {
    if (!changed.has("shown")) return;
    const shown = store.shown;
    if (!shown?.spectrum || !shown.objective) {
      charts.replaceChildren();
      drawn = null;
      return;
    }
    if (drawn === shown.spectrum) return; // a slider move: the same directions, nothing to redraw
    drawn = shown.spectrum;
    charts.replaceChildren(
      h("figure", { class: "aw-dir-figure" }, h("figcaption", {}, "spectrum (share of σ²)"), spectrumChart(shown.spectrum.important, shown.spectrum.pca)),
      h(
        "figure",
        { class: "aw-dir-figure" },
        h("figcaption", {}, `objective vs k kept (÷ k = 0): lines first order, rings measured on ${shown.objective.sampled_examples ?? 0} examples`),
        objectiveChart(shown.objective),
      ),
    );
  }

  const el = h("div", { class: "aw-dir-panel aw-dir-spectrum" }, h("div", { class: "aw-dir-panel-title" }, "Spectrum"), legend, charts);
  return { el, update, dispose: () => undefined };
}
