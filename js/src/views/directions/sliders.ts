/**
 * One slider per direction (in spreads: the std of that direction's coordinate over the data), each with its own
 * reset, plus "reset all" and the projection toggle. Dragging writes `offsets` at most once per animation frame.
 */
import { Disposer, h } from "../../core/dom";
import type { View } from "../../core/view";
import type { DirectionsKey, DirectionsStore } from "../../traits/directions";

export const SLIDER_RANGE = 3; // spreads either side of the example; Python accepts up to ±10

/** Offsets padded with zeros (or cut) to one per direction. */
export function offsetsFor(offsets: number[], count: number): number[] {
  return Array.from({ length: count }, (_, i) => offsets[i] ?? 0);
}

/** Batches calls into one per animation frame (the last value wins). */
export function frameThrottle<A>(send: (value: A) => void): { push(value: A): void; flush(): void; cancel(): void } {
  let pending: { value: A } | null = null;
  let frame: number | null = null;
  const flush = () => {
    if (frame !== null) cancelAnimationFrame(frame);
    frame = null;
    if (pending === null) return;
    const { value } = pending;
    pending = null;
    send(value);
  };
  return {
    push(value: A) {
      pending = { value };
      if (frame === null) frame = requestAnimationFrame(flush);
    },
    flush,
    cancel() {
      if (frame !== null) cancelAnimationFrame(frame);
      frame = null;
      pending = null;
    },
  };
}

function format(value: number): string {
  return `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(2)}σ`;
}

export function createSliders(store: DirectionsStore): View<DirectionsKey> {
  const disposer = new Disposer();
  const list = h("div", { class: "aw-dir-sliders", role: "group", "aria-label": "direction sliders" });
  const resetAll = h("button", { type: "button", class: "aw-dir-button", "data-control": "reset-all" }, "Reset all");
  const toggle = h("input", { type: "checkbox", "data-control": "project", class: "aw-dir-toggle-input" });
  const toggleLabel = h(
    "label",
    { class: "aw-dir-toggle", title: "Replace the activation h by its projection μ + P(h − μ) onto the directions" },
    toggle,
    " project onto the directions",
  );
  let rows: { range: HTMLInputElement; value: HTMLElement; own: HTMLElement; row: HTMLElement }[] = [];

  const throttle = frameThrottle<number[]>((offsets) => {
    store.setLocal("pending", null);
    store.setControl("offsets", offsets, { dragging: true }); // the output follows the drag (store.ts)
  });
  disposer.add(() => throttle.cancel());

  const current = (): number[] => store.local("pending") ?? offsetsFor(store.get("offsets"), rows.length);

  function build(count: number): void {
    rows = [];
    const elements: HTMLElement[] = [];
    for (let i = 0; i < count; i++) {
      const range = h("input", {
        type: "range",
        class: "aw-dir-range",
        min: -SLIDER_RANGE,
        max: SLIDER_RANGE,
        step: 0.05,
        value: 0,
        "data-control": "offset",
        "data-index": i,
        "aria-label": `offset along direction ${i + 1}`,
      });
      const value = h("span", { class: "aw-dir-value" });
      const own = h("span", { class: "aw-dir-own", title: "this example's own coordinate (in spreads)" });
      const reset = h(
        "button",
        { type: "button", class: "aw-dir-reset", "data-control": "reset", "data-index": i, title: "back to 0" },
        "↺",
      );
      const name = h(
        "button",
        { type: "button", class: "aw-dir-name", "data-control": "select-direction", "data-index": i,
          title: "show this direction's top and bottom examples" },
        `d${i + 1}`,
      );
      const row = h("div", { class: "aw-dir-row", "data-index": i }, name, range, value, own, reset);
      rows.push({ range, value, own, row });
      elements.push(row);
    }
    list.replaceChildren(...elements);
  }

  disposer.listen(list, "input", (event) => {
    const range = event.target as HTMLInputElement;
    const index = Number(range.dataset.index);
    if (Number.isNaN(index)) return;
    const next = current().slice();
    next[index] = Number(range.value);
    rows[index].value.textContent = format(next[index]);
    store.setLocal("pending", next);
    throttle.push(next);
  });
  disposer.listen(list, "change", () => {
    throttle.flush();
    store.release("offsets");
  });
  disposer.listen(list, "click", (event) => {
    const button = (event.target as HTMLElement).closest("button");
    if (!button) return;
    const index = Number(button.dataset.index);
    if (button.dataset.control === "reset") {
      const next = current().slice();
      next[index] = 0;
      throttle.cancel();
      store.setLocal("pending", null);
      store.setControl("offsets", next);
    } else if (button.dataset.control === "select-direction") {
      store.setControl("direction", index);
    }
  });
  disposer.listen(resetAll, "click", () => {
    throttle.cancel();
    store.setLocal("pending", null);
    store.setControls({ offsets: rows.map(() => 0), project: false });
  });
  disposer.listen(toggle, "change", () => store.setControl("project", toggle.checked));

  function update(changed: Set<DirectionsKey>): void {
    const shown = store.shown;
    const count = shown?.n_directions ?? 0;
    if (count !== rows.length) build(count);
    if (changed.has("offsets") || changed.has("shown") || changed.has("pending") || changed.has("direction")) {
      const offsets = current();
      const own = shown?.coords ?? [];
      rows.forEach((r, i) => {
        if (document.activeElement !== r.range || store.local("pending") === null) r.range.value = String(offsets[i]);
        r.value.textContent = format(offsets[i]);
        r.own.textContent = own[i] === undefined ? "" : `at ${own[i].toFixed(2)}σ`;
        r.row.classList.toggle("aw-on", i === store.get("direction"));
      });
    }
    toggle.checked = store.get("project");
  }

  const el = h(
    "div",
    { class: "aw-dir-panel aw-dir-slider-panel" },
    h("div", { class: "aw-dir-panel-head" }, h("span", { class: "aw-dir-panel-title" }, "Directions"), resetAll),
    list,
    toggleLabel,
  );
  return { el, update, dispose: () => disposer.dispose() };
}
