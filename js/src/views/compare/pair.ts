/**
 * Two maps side by side with their difference (opened from a cell of the agreement matrix): the maps on the grid's
 * extents, the difference A − B on the diverging scale, on the shared extent when the maps share one (equal colours
 * then mean equal values) and on its own otherwise.
 */
import { formatValue, scaleExtent } from "../../core/colorscale";
import { Disposer, h } from "../../core/dom";
import type { View } from "../../core/view";
import type { CompareKey, CompareStore } from "../../traits/compare";
import { barElements, barRows } from "../bars";
import { createHeatmapCanvas } from "../heatmap";
import { BARS_PER_MAP, featureAt, markFeature, type GridView } from "./grid";

const PAIR_SIZE = 136;

/** A − B, element by element. */
export function difference(a: Float32Array, b: Float32Array): Float32Array {
  if (a.length !== b.length) throw new Error(`maps of different sizes: ${a.length} and ${b.length}`);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  return out;
}

export function createPair(store: CompareStore, grid: GridView): View<CompareKey> {
  const disposer = new Disposer();
  const left = createHeatmapCanvas("first map of the pair");
  const right = createHeatmapCanvas("second map of the pair");
  const diff = createHeatmapCanvas("difference of the two maps");
  const labels = [h("div", { class: "aw-cmp-label" }), h("div", { class: "aw-cmp-label" }), h("div", { class: "aw-cmp-label" })];
  const notes = [h("div", { class: "aw-cmp-note" }), h("div", { class: "aw-cmp-note" }), h("div", { class: "aw-cmp-note" })];
  const close = h("button", { type: "button", class: "aw-cancel", "data-control": "close-pair", title: "Close the pair" }, "Close");
  const swap = h("button", { type: "button", class: "aw-cancel", "data-control": "swap-pair", title: "Swap A and B" }, "Swap");
  // A row of features: three bar lists instead of the canvases.
  const lists = [0, 1, 2].map(() => h("div", { class: "aw-bar-list aw-cmp-bars", role: "list" }));
  const tabular = () => store.get("kind") === "tabular";
  const panels = [left, right, diff].map((c, i) =>
    h("div", { class: "aw-cmp-panel", "data-part": ["a", "b", "difference"][i] }, labels[i], c.frame, lists[i], notes[i]),
  );
  const caption = h("div", { class: "aw-legend-caption" });
  const el = h(
    "div",
    { class: "aw-cmp-pair", "aria-label": "two maps and their difference" },
    h("div", { class: "aw-cmp-pair-head" }, h("span", { class: "aw-field-label" }, "Pair"), h("span", {}, swap, close)),
    h("div", { class: "aw-cmp-pair-body" }, ...panels),
    caption,
  );
  el.hidden = true;
  disposer.listen(close, "click", () => store.setLocal("pair", null));
  disposer.listen(swap, "click", () => {
    const pair = store.local("pair");
    if (pair) store.setLocal("pair", [pair[1], pair[0]]);
  });
  for (const list of lists) {
    disposer.listen(list, "pointermove", (event) => store.setLocal("hover", featureAt(event.target), (a, b) => a === b || (a !== null && b !== null && a.x === b.x)));
    disposer.listen(list, "pointerleave", () => store.setLocal("hover", null));
  }
  for (const c of [left, right, diff]) {
    disposer.listen(c.canvas, "pointermove", (event) => store.setLocal("hover", c.pixelAt(event), (a, b) => a === b || (a !== null && b !== null && a.x === b.x && a.y === b.y)));
    disposer.listen(c.canvas, "pointerleave", () => store.setLocal("hover", null));
  }

  function draw(): void {
    const pair = store.local("pair");
    const image = grid.image();
    const a = pair ? grid.mapOf(pair[0]) : null;
    const b = pair ? grid.mapOf(pair[1]) : null;
    el.hidden = pair === null || (image === null && !tabular());
    if (pair === null) return;
    const name = (m: string) => store.get("options").methods.find((o) => o.value === m)?.label ?? m;
    const mode = store.get("sign_mode");
    // Three maps fit beside the matrix at this size.
    const size = Math.min(store.get("canvas_size"), PAIR_SIZE);
    const opacity = store.get("opacity");
    const d = a && b ? difference(a, b) : null;
    const dExtent = d === null ? 0 : store.get("shared_scale") ? grid.extent() : scaleExtent(d, "signed", store.get("outlier_percent"));
    for (const [i, c] of [left, right, diff].entries()) {
      c.frame.hidden = tabular();
      lists[i].hidden = !tabular();
    }
    if (image) {
      left.paint(image, a, mode, grid.extentOf(pair[0]), opacity, size);
      right.paint(image, b, mode, grid.extentOf(pair[1]), opacity, size);
      diff.paint(image, d, "signed", dExtent, opacity, size);
    } else if (tabular()) {
      const names = store.get("feature_names");
      const values = store.get("feature_values");
      const bars = (list: HTMLElement, map: Float32Array | null, m: typeof mode, extent: number) => {
        list.classList.toggle("aw-bar-signed", m === "signed");
        list.replaceChildren(...(map ? barElements(barRows(names, values, map, BARS_PER_MAP), m, extent, extent) : []));
      };
      bars(lists[0], a, mode, grid.extentOf(pair[0]));
      bars(lists[1], b, mode, grid.extentOf(pair[1]));
      bars(lists[2], d, "signed", dExtent);
    }
    labels[0].textContent = `A: ${name(pair[0])}`;
    labels[1].textContent = `B: ${name(pair[1])}`;
    labels[2].textContent = "A − B";
    notes[0].textContent = a ? "" : "not computed yet";
    notes[1].textContent = b ? "" : "not computed yet";
    notes[2].textContent = d ? `${store.get("shared_scale") ? "shared" : "own"} scale ±${formatValue(dExtent)}` : "";
    caption.textContent = d ? "A − B: red where A gives more attribution, blue where B does" : "";
    panels[2].dataset.extent = String(dExtent);
    for (const [i, c] of [left, right, diff].entries()) panels[i].style.width = tabular() ? "" : c.canvas.style.width;
  }

  function showHover(): void {
    const hover = store.local("hover");
    for (const c of [left, right, diff]) c.mark(tabular() ? null : hover);
    for (const list of lists) markFeature(list, hover === null ? null : hover.x);
  }

  function update(changed: Set<CompareKey>): void {
    if (["pair", "shown", "image", "sign_mode", "opacity", "canvas_size", "shared_scale", "outlier_percent", "options"].some((k) => changed.has(k as CompareKey))) {
      draw();
      showHover();
    } else if (changed.has("hover")) showHover();
  }

  return { el, update, dispose: () => disposer.dispose() };
}
