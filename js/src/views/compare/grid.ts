/**
 * The grid of a CompareWidget: one map per method over the input, each drawn through the heatmap view's canvas
 * (no second compositing), all on one colour extent (or each on its own), with the method's own state: its
 * progress while it computes, "queued", its error, or the time it took. A map of an earlier request stays,
 * greyed, until the present request's map for that method arrives; hovering a pixel marks it in every map.
 */
import { decodeHeatmap, decodeRgba, type RgbaImage } from "../../core/codecs";
import { formatValue, scaleExtent, sharedExtent, type SignMode } from "../../core/colorscale";
import { Disposer, h } from "../../core/dom";
import { sameControl } from "../../core/store";
import type { View } from "../../core/view";
import type { CompareKey, CompareStore, MethodState, PixelHover } from "../../traits/compare";
import { barElements, barRows } from "../bars";
import { createHeatmapCanvas, type HeatmapCanvas } from "../heatmap";
import type { ScaleSource } from "../legend";

const REDRAW_KEYS: CompareKey[] = [
  "image", "shown", "opacity", "sign_mode", "outlier_percent", "canvas_size", "shared_scale", "options",
  "feature_names", "feature_values",
];
/** Bars per map for a row of features: the largest by |attribution|, the rest folded into one row. */
export const BARS_PER_MAP = 8;

/** What a panel shows for its method, from the result on screen and the newest request's states. */
export type PanelStatus =
  | { kind: "done"; ms: number | null }
  | { kind: "computing"; done: number; total: number }
  | { kind: "queued" }
  | { kind: "error"; message: string }
  | { kind: "cancelled" };

export interface GridView extends View<CompareKey>, ScaleSource {
  /** The map drawn for `method` (current or kept from an earlier request), or null. */
  mapOf(method: string): Float32Array | null;
  /** The extent `method`'s map is drawn with. */
  extentOf(method: string): number;
  /** The image's size, once known. */
  shape(): { height: number; width: number } | null;
  image(): RgbaImage | null;
}

/** Whether the shown result answers the compute controls as they stand (the widget core's staleness rule). */
export function isCurrentResult(store: CompareStore): boolean {
  const shown = store.shown;
  if (shown === null) return false;
  const controls = shown.controls ?? {};
  return store.computeKeys.every((key) => sameControl(controls[key], store.get(key as "target")));
}

/**
 * A method's status: its map when the result on screen is current (and the view holds that request's map), else
 * the newest request's state for it.
 */
export function panelStatus(store: CompareStore, method: string, hasMap: (method: string) => boolean): PanelStatus {
  const shown = store.shown;
  const current = isCurrentResult(store);
  if (current && hasMap(method)) return { kind: "done", ms: shown?.method_ms[method] ?? null };
  if (current && shown?.errors[method]) return { kind: "error", message: shown.errors[method] };
  const states = store.get("method_states");
  const newest = states && states.seq >= (shown?.seq ?? 0) && states.seq === store.get("request_seq");
  const state: MethodState | undefined = newest ? states.states[method] : undefined;
  switch (state?.state) {
    case "computing":
      return { kind: "computing", done: state.done, total: state.total };
    case "error":
      return { kind: "error", message: state.error ?? "failed" };
    case "cancelled":
      return { kind: "cancelled" };
    case "done":
      return { kind: "queued" }; // done on the kernel, its map on its way
    default:
      return store.activity === "cancelled" ? { kind: "cancelled" } : { kind: "queued" };
  }
}

function statusText(status: PanelStatus): string {
  switch (status.kind) {
    case "done":
      return status.ms === null ? "" : `${status.ms < 1000 ? `${Math.round(status.ms)} ms` : `${(status.ms / 1000).toFixed(1)} s`}`;
    case "computing":
      return status.total > 0 ? `computing ${Math.round((100 * status.done) / status.total)} %` : "computing…";
    case "queued":
      return "queued";
    case "error":
      return "failed";
    case "cancelled":
      return "cancelled";
  }
}

interface Panel {
  method: string;
  el: HTMLElement;
  /** The map's box: the canvas frame of an image, the bar list of a row. */
  frame: HTMLElement;
  painter: HeatmapCanvas | null;
  bars: HTMLElement | null;
  chip: HTMLElement;
  fill: HTMLElement;
  bar: HTMLElement;
  note: HTMLElement;
  error: HTMLElement;
  detail: string;
}

export function createGrid(store: CompareStore): GridView {
  const disposer = new Disposer();
  const el = h("div", { class: "aw-cmp-grid", role: "list", "aria-label": "attribution maps, one per method" });
  let panels: Panel[] = [];
  let image: RgbaImage | null = null;
  // The last map each method had on screen: it stays (greyed) while the present request computes that method.
  const kept = new Map<string, Float32Array>();
  // The request each kept map belongs to: a partial result sends only its new map, the earlier ones stay here.
  const keptSeq = new Map<string, number>();
  const extents = new Map<string, number>();
  let shared = 0;

  function build(): void {
    const tabular = store.get("kind") === "tabular";
    el.classList.toggle("aw-cmp-tabular", tabular);
    panels = store.get("options").methods.map((m) => {
      const painter = tabular ? null : createHeatmapCanvas(`${m.label}: attribution map`);
      const bars = tabular ? h("div", { class: "aw-bar-list aw-cmp-bars", role: "list", "aria-label": `${m.label}: features by attribution` }) : null;
      const frame = painter?.frame ?? bars!;
      const chip = h("span", { class: "aw-cmp-chip" });
      const fill = h("span", { class: "aw-progress-fill" });
      const bar = h("span", { class: "aw-progress aw-cmp-progress", role: "progressbar" }, fill);
      const note = h("div", { class: "aw-cmp-note" });
      const error = h("div", { class: "aw-cmp-error", role: "alert" });
      const title = m.detail ? `${m.label} (${m.detail})` : m.label;
      const head = h("div", { class: "aw-cmp-head" }, h("span", { class: "aw-cmp-label", title }, m.label));
      const foot = h("div", { class: "aw-cmp-foot" }, chip, note);
      const panelEl = h("div", { class: "aw-cmp-panel", role: "listitem", "data-method": m.value }, head, frame, bar, foot, error);
      if (painter) {
        disposer.listen(painter.canvas, "pointermove", (event) => store.setLocal("hover", painter.pixelAt(event), samePixel));
        disposer.listen(painter.canvas, "pointerleave", () => store.setLocal("hover", null, samePixel));
      } else {
        disposer.listen(frame, "pointermove", (event) => store.setLocal("hover", featureAt(event.target), samePixel));
        disposer.listen(frame, "pointerleave", () => store.setLocal("hover", null, samePixel));
      }
      return { method: m.value, el: panelEl, frame, painter, bars, chip, fill, bar, note, error, detail: m.detail ?? "" };
    });
    el.replaceChildren(...panels.map((p) => p.el));
  }

  function decode(): void {
    const img = store.get("image");
    image = img ? decodeRgba(img) : null;
    const shown = store.shown;
    const features = store.get("feature_names").length;
    for (const [method, packed] of Object.entries(shown?.maps ?? {})) {
      // A row's map is [F]: decoded as one line of F values.
      const map = decodeHeatmap(packed.shape.length === 1 ? { ...packed, shape: [1, packed.shape[0]] } : packed);
      if (image && (map.height !== image.height || map.width !== image.width)) continue;
      if (!image && map.width !== features) continue;
      kept.set(method, map.data);
      keptSeq.set(method, shown!.seq);
    }
  }

  /** Whether the view holds `method`'s map of the result on screen. */
  function hasShownMap(method: string): boolean {
    const shown = store.shown;
    return shown !== null && keptSeq.get(method) === shown.seq && (shown.finished ?? []).includes(method);
  }

  /** The maps the result on screen holds (the scale is taken over these, as the kernel's `scale` is). */
  function shownMaps(): Float32Array[] {
    return panels.filter((p) => hasShownMap(p.method)).map((p) => kept.get(p.method)!);
  }

  function draw(): void {
    if (!image && store.get("kind") !== "tabular") return;
    const mode = store.get("sign_mode");
    const outlier = store.get("outlier_percent");
    const own = !store.get("shared_scale");
    const pooled = shownMaps();
    shared = pooled.length > 0 ? sharedExtent(pooled, mode, outlier) : 0;
    for (const panel of panels) {
      const map = kept.get(panel.method) ?? null;
      const extent = map === null ? 0 : own ? scaleExtent(map, mode, outlier) : shared;
      extents.set(panel.method, extent);
      if (panel.painter && image) {
        panel.painter.paint(image, map, mode, extent, store.get("opacity"), store.get("canvas_size"));
        panel.el.style.width = `${panel.painter.canvas.style.width}`;
      } else if (panel.bars) {
        drawBars(panel.bars, map, mode, extent);
      }
      panel.el.dataset.extent = String(extent);
      const scale = own && map ? `±${formatValue(extent)}` : "";
      panel.note.textContent = [panel.detail, scale].filter(Boolean).join(" · ");
    }
  }

  function showStatus(): void {
    for (const panel of panels) {
      const status = panelStatus(store, panel.method, hasShownMap);
      panel.el.dataset.state = status.kind;
      panel.chip.textContent = statusText(status);
      panel.chip.dataset.kind = status.kind;
      const running = status.kind === "computing" && status.total > 0;
      panel.bar.hidden = !running;
      panel.fill.style.width = running ? `${Math.round((100 * status.done) / status.total)}%` : "0%";
      panel.frame.classList.toggle("aw-stale", status.kind !== "done");
      panel.error.hidden = status.kind !== "error";
      panel.error.textContent = status.kind === "error" ? status.message : "";
    }
  }

  function showHover(): void {
    const hover = store.local("hover");
    for (const panel of panels) {
      panel.painter?.mark(hover);
      if (panel.bars) markFeature(panel.bars, hover === null ? null : hover.x);
    }
  }

  /** One map as feature bars, lengths on the map's colour extent (the shared one: equal lengths, equal values). */
  function drawBars(list: HTMLElement, map: Float32Array | null, mode: SignMode, extent: number): void {
    list.classList.toggle("aw-bar-signed", mode === "signed");
    if (map === null) {
      list.replaceChildren();
      return;
    }
    const rows = barRows(store.get("feature_names"), store.get("feature_values"), map, BARS_PER_MAP);
    list.replaceChildren(...barElements(rows, mode, extent, extent));
  }

  function update(changed: Set<CompareKey>): void {
    if (changed.has("options")) build();
    if (changed.has("image") || changed.has("shown") || changed.has("options")) decode();
    if (REDRAW_KEYS.some((k) => changed.has(k))) draw();
    if (["shown", "method_states", "request_seq", "activity", "busy", "options"].some((k) => changed.has(k as CompareKey))) {
      showStatus();
    }
    if (changed.has("hover") || REDRAW_KEYS.some((k) => changed.has(k))) showHover();
    el.dataset.extent = String(shared);
  }

  return {
    el,
    update,
    dispose: () => disposer.dispose(),
    extent: () => shared,
    hasHeatmap: () => kept.size > 0,
    relative: () => !store.get("shared_scale"),
    note: () => (store.get("shared_scale") ? "one scale for every map" : "each map on its own scale (under it)"),
    mapOf: (method) => kept.get(method) ?? null,
    extentOf: (method) => extents.get(method) ?? 0,
    shape: () =>
      image
        ? { height: image.height, width: image.width }
        : store.get("kind") === "tabular"
          ? { height: 1, width: store.get("feature_names").length }
          : null,
    image: () => image,
  };
}

/** The feature of the bar row under the pointer (the fold row is no feature). */
export function featureAt(target: EventTarget | null): PixelHover | null {
  const row = (target as HTMLElement | null)?.closest?.<HTMLElement>("[data-feature]");
  const index = row ? Number(row.dataset.feature) : -1;
  return index >= 0 ? { x: index, y: 0 } : null;
}

/** Mark the bar row of `feature` (linked hover), wherever it ranks in this map. */
export function markFeature(list: HTMLElement, feature: number | null): void {
  for (const row of list.querySelectorAll<HTMLElement>("[data-feature]")) {
    row.classList.toggle("aw-hover", feature !== null && row.dataset.feature === String(feature));
  }
}

export function samePixel(a: PixelHover | null, b: PixelHover | null): boolean {
  return a === b || (a !== null && b !== null && a.x === b.x && a.y === b.y);
}
