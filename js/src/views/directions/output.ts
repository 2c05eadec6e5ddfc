/** The model's output for the moved example: f before → after with Δf, top-5 before → after, and per-direction
 * attribution (coordinate × gradient along each direction at the moved point). */
import { h } from "../../core/dom";
import type { View } from "../../core/view";
import type { DirectionsKey, DirectionsStore, Prediction } from "../../traits/directions";

/**
 * Δf to the precision f itself is shown with (4 significant digits of f): f before comes from the batched pass
 * over the data and f after from a pass of the example alone, which differ by float rounding (~1e-7 of f).
 */
export function formatDelta(change: number, scale: number): string {
  const digits = Math.min(6, Math.max(0, 3 - Math.floor(Math.log10(Math.max(Math.abs(scale), 1e-6)))));
  const rounded = Number(change.toFixed(digits));
  const text = Math.abs(rounded).toFixed(digits);
  return rounded < 0 ? `−${text}` : `+${text}`;
}

function signed(value: number): string {
  const text = Math.abs(value) >= 100 ? value.toFixed(1) : Math.abs(value) >= 1 ? value.toFixed(3) : value.toPrecision(3);
  return value >= 0 ? `+${text}` : text.replace("-", "−");
}

function topList(predictions: Prediction[], kind: string): HTMLElement {
  return h(
    "ol",
    { class: "aw-dir-top", "data-kind": kind },
    ...predictions.map((p) =>
      h(
        "li",
        { class: "aw-dir-top-item", "data-index": p.index },
        h("span", { class: "aw-dir-top-label" }, p.label),
        h("span", { class: "aw-dir-top-bar" }, h("span", { class: "aw-dir-top-fill", style: `width:${(p.prob * 100).toFixed(1)}%` })),
        h("span", { class: "aw-dir-top-prob" }, `${(p.prob * 100).toFixed(1)}%`),
      ),
    ),
  );
}

export function createOutput(store: DirectionsStore): View<DirectionsKey> {
  const before = h("span", { class: "aw-dir-f", "data-field": "f_before" });
  const after = h("span", { class: "aw-dir-f", "data-field": "f_after" });
  const delta = h("span", { class: "aw-dir-delta", "data-field": "delta_f" });
  const description = h("div", { class: "aw-dir-muted" });
  const tops = h("div", { class: "aw-dir-tops" });
  const attribution = h("div", { class: "aw-dir-attribution" });

  function update(changed: Set<DirectionsKey>): void {
    if (!changed.has("shown") && !changed.has("labels")) return;
    const shown = store.shown;
    if (!shown || shown.f_before === undefined || shown.f_after === undefined) {
      for (const el of [before, after, delta]) el.textContent = "–";
      tops.replaceChildren();
      attribution.replaceChildren();
      return;
    }
    before.textContent = shown.f_before.toPrecision(4);
    after.textContent = shown.f_after.toPrecision(4);
    const change = shown.f_after - shown.f_before;
    const text = formatDelta(change, shown.f_before);
    delta.textContent = `Δf ${text}`;
    delta.dataset.sign = /[1-9]/.test(text) ? (change > 0 ? "up" : "down") : "none";
    description.textContent = `f = ${shown.f_description ?? ""}`;
    const beforeList = shown.top_before ?? [];
    const afterList = shown.top_after ?? [];
    tops.replaceChildren(
      ...(beforeList.length > 0
        ? [
            h("div", { class: "aw-dir-top-col" }, h("div", { class: "aw-dir-muted" }, "before"), topList(beforeList, "before")),
            h("div", { class: "aw-dir-arrow", "aria-hidden": "true" }, "→"),
            h("div", { class: "aw-dir-top-col" }, h("div", { class: "aw-dir-muted" }, "after"), topList(afterList, "after")),
          ]
        : []),
    );
    const values = shown.attribution ?? [];
    const extent = Math.max(1e-12, ...values.map(Math.abs));
    attribution.replaceChildren(
      h("div", { class: "aw-dir-muted" }, "attribution per direction (coordinate × slope)"),
      ...values.map((v, i) =>
        h(
          "div",
          { class: "aw-dir-attr-row", "data-index": i },
          h("span", { class: "aw-dir-attr-name" }, `d${i + 1}`),
          h(
            "span",
            { class: "aw-dir-attr-track" },
            h("span", {
              class: `aw-dir-attr-fill ${v >= 0 ? "aw-dir-pos" : "aw-dir-neg"}`,
              style: `width:${((Math.abs(v) / extent) * 50).toFixed(1)}%;${v >= 0 ? "left:50%" : `right:50%`}`,
            }),
          ),
          h("span", { class: "aw-dir-attr-value" }, signed(v)),
        ),
      ),
    );
  }

  const el = h(
    "div",
    { class: "aw-dir-panel aw-dir-output" },
    h("div", { class: "aw-dir-panel-title" }, "Output"),
    h("div", { class: "aw-dir-fline" }, before, h("span", { class: "aw-dir-arrow" }, "→"), after, delta),
    description,
    tops,
    attribution,
  );
  return { el, update, dispose: () => undefined };
}
