/**
 * The feature bars: one row per feature, sorted by |attribution|, the `top_features` largest on their own and the
 * rest folded into one row with their summed attribution (so the rows still add up to the total). Signed bars grow
 * left or right of a zero line, coloured on the heatmaps' diverging scale. Names go in with `textContent`, never
 * as HTML: a feature called `<b>x</b>` shows those characters.
 */
import { decodeHeatmap } from "../core/codecs";
import { colorOf, formatValue, GHOST_CONTRAST, normalise, overlayAlpha, scaleExtent, type SignMode } from "../core/colorscale";
import { Disposer, h } from "../core/dom";
import type { View } from "../core/view";
import type { TabularKey, TabularStore } from "../traits/tabular";

// The light grey the legend's gradient is drawn over (views/legend.ts).
const GHOST_GREY = Math.round(255 * (1 - GHOST_CONTRAST / 2));
const REDRAW: TabularKey[] = ["shown", "feature_names", "feature_values", "top_features", "sign_mode", "outlier_percent"];

/** One drawn row: a feature (its column `index`), or the fold of `count` features (`index` -1). */
export interface BarRow {
  index: number;
  name: string;
  value: number | null;
  score: number;
  count: number;
}

/** The rows to draw: features by decreasing |score| (ties by column order), the top `k`, then the fold of the rest. */
export function barRows(names: string[], values: number[], scores: ArrayLike<number>, k: number): BarRow[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => Math.abs(scores[b]) - Math.abs(scores[a]) || a - b);
  const shown = Math.max(1, Math.min(k, order.length));
  const rows: BarRow[] = order
    .slice(0, shown)
    .map((i) => ({ index: i, name: names[i] ?? `feature ${i}`, value: values[i] ?? null, score: scores[i], count: 1 }));
  const rest = order.slice(shown);
  if (rest.length > 0) {
    // Summed as float64 (JS numbers) over float32 scores: the fold is the total of what it hides, to float64 rounding.
    const sum = rest.reduce((total, i) => total + scores[i], 0);
    const name = rest.length === 1 ? "the other feature" : `the other ${rest.length} features`;
    rows.push({ index: -1, name, value: null, score: sum, count: rest.length });
  }
  return rows;
}

/**
 * The colour of a bar: the legend's colour at the bar's normalised value (the scale's colour at its overlay alpha,
 * over the legend's light grey), so a bar and the legend tick at its value look the same.
 */
export function barColour(mode: SignMode, score: number, extent: number): string {
  const t = normalise(mode, score, extent);
  const a = overlayAlpha(t, 1);
  const [r, g, b] = colorOf(mode, t).map((c) => GHOST_GREY + (c - GHOST_GREY) * a);
  return `rgb(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)})`;
}

/**
 * The rows as elements (name, the feature's value, the bar, the attribution): bar lengths are |score| / `lengthScale`
 * (clipped at the full track), coloured on the scale of `mode` with `extent`. The tabular widget scales to its longest
 * row; the compare widget to the shared extent, so equal lengths mean equal values across maps.
 */
export function barElements(rows: BarRow[], mode: SignMode, extent: number, lengthScale: number): HTMLElement[] {
  const signed = mode === "signed";
  return rows.map((row) => {
    const name = h("span", { class: "aw-bar-name" });
    name.textContent = row.name;
    name.title = row.name;
    const value = h("span", { class: "aw-bar-value" }, row.value === null ? "" : formatValue(row.value));
    const bar = h("span", { class: "aw-bar-fill" });
    const share = lengthScale > 0 ? Math.min(1, Math.abs(row.score) / lengthScale) : 0;
    // Signed: half the track on each side of zero; absolute: the whole track from the left.
    const width = (signed ? 50 : 100) * share;
    bar.style.width = `${width}%`;
    bar.style.left = signed ? (row.score < 0 ? `${50 - width}%` : "50%") : "0%";
    bar.style.background = barColour(mode, row.score, extent);
    const sign = row.score > 0 && signed ? "+" : "";
    const score = h("span", { class: "aw-bar-score" }, `${sign}${formatValue(signed ? row.score : Math.abs(row.score))}`);
    return h(
      "div",
      {
        class: row.index < 0 ? "aw-bar-row aw-bar-fold" : "aw-bar-row",
        role: "listitem",
        "data-feature": row.index,
        "data-score": String(row.score),
        title: row.index < 0 ? `${row.count} features with smaller |attribution|, summed` : "",
      },
      h("span", { class: "aw-bar-label" }, name, value),
      h("span", { class: "aw-bar-track" }, bar),
      score,
    );
  });
}

export interface BarsView extends View<TabularKey> {
  extent(): number;
  hasHeatmap(): boolean;
  note(): string;
}

export function createBars(store: TabularStore): BarsView {
  const disposer = new Disposer();
  const topInput = h("input", {
    type: "number",
    class: "aw-number aw-bar-top-input",
    min: 1,
    step: 1,
    "data-control": "top_features",
    "aria-label": "features shown",
  });
  const ofTotal = h("span", { class: "aw-bar-of" });
  const head = h("label", { class: "aw-bar-head" }, h("span", {}, "top"), topInput, ofTotal);
  const body = h("div", { class: "aw-bar-list", role: "list", "aria-label": "features by attribution" });
  const el = h("div", { class: "aw-bar-view" }, head, body);
  let scores: Float32Array | null = null;
  let extent = 0;

  disposer.listen(topInput, "change", () => {
    const n = Number(topInput.value);
    if (Number.isInteger(n) && n >= 1) store.setControl("top_features", n);
  });

  function decode(): void {
    const shown = store.shown;
    const raw = shown?.scores ? decodeHeatmap({ ...shown.scores, shape: [1, shown.scores.shape[0]] }).data : null;
    scores = raw && raw.length === store.get("feature_names").length ? raw : null;
  }

  function draw(): void {
    const names = store.get("feature_names");
    const mode = store.get("sign_mode");
    if (document.activeElement !== topInput) topInput.value = String(store.get("top_features"));
    topInput.max = String(Math.max(1, names.length));
    ofTotal.textContent = `of ${names.length} features`;
    if (!scores) {
      extent = 0;
      body.replaceChildren();
      return;
    }
    // The colour scale covers the single features; the fold row may be longer and is clipped to the darkest colour.
    extent = scaleExtent(scores, mode, store.get("outlier_percent"));
    const rows = barRows(names, store.get("feature_values"), scores, store.get("top_features"));
    const longest = rows.reduce((m, r) => Math.max(m, Math.abs(r.score)), 0);
    const signed = mode === "signed";
    body.classList.toggle("aw-bar-signed", signed);
    // Column heads, so the number beside a name reads as the feature's value, the one at the end as its attribution.
    const heads = h(
      "div",
      { class: "aw-bar-columns", "aria-hidden": "true" },
      h("span", { class: "aw-bar-label" }, h("span", {}, "feature"), h("span", {}, "value")),
      h("span", {}, ""),
      h("span", { class: "aw-bar-score" }, "attribution"),
    );
    body.replaceChildren(heads, ...barElements(rows, mode, extent, longest));
  }

  function update(changed: Set<TabularKey>): void {
    if (changed.has("shown") || changed.has("feature_names")) decode();
    if (REDRAW.some((k) => changed.has(k))) draw();
    if (changed.has("busy")) el.classList.toggle("aw-stale", store.busy);
    el.dataset.extent = String(extent);
  }

  return {
    el,
    update,
    extent: () => extent,
    hasHeatmap: () => scores !== null,
    note: () => "bars sorted by |attribution|",
    dispose: () => disposer.dispose(),
  };
}
