/** Linked hover: the pixel under the pointer in any map, and every method's value at that pixel. */
import { formatValue } from "../../core/colorscale";
import { h } from "../../core/dom";
import type { View } from "../../core/view";
import type { CompareKey, CompareStore } from "../../traits/compare";
import type { GridView } from "./grid";

export function createHoverReadout(store: CompareStore, grid: GridView): View<CompareKey> {
  const title = h("div", { class: "aw-cmp-readout-title" });
  const list = h("div", { class: "aw-cmp-readout-list" });
  const el = h("div", { class: "aw-cmp-readout", "aria-live": "polite" }, title, list);

  function update(changed: Set<CompareKey>): void {
    if (!changed.has("hover") && !changed.has("shown") && !changed.has("options") && !changed.has("kind")) return;
    const hover = store.local("hover");
    const shape = grid.shape();
    el.classList.toggle("aw-readout-active", hover !== null);
    if (hover === null || shape === null) {
      const what = store.get("kind") === "tabular" ? "a feature" : "the pixel";
      title.textContent = `hover over a map: ${what} is marked in every map, with each method's value`;
      list.replaceChildren();
      delete el.dataset.x;
      delete el.dataset.y;
      return;
    }
    el.dataset.x = String(hover.x);
    el.dataset.y = String(hover.y);
    title.textContent =
      store.get("kind") === "tabular"
        ? `feature ${store.get("feature_names")[hover.x] ?? hover.x} = ${formatValue(store.get("feature_values")[hover.x] ?? NaN)}`
        : `pixel (${hover.x}, ${hover.y})`;
    list.replaceChildren(
      ...store.get("options").methods.map((m) => {
        const map = grid.mapOf(m.value);
        const v = map ? map[hover.y * shape.width + hover.x] : null;
        const text = v === null ? "—" : `${v > 0 ? "+" : ""}${formatValue(v)}`;
        return h(
          "span",
          { class: "aw-cmp-readout-item", "data-method": m.value },
          h("span", { class: "aw-cmp-readout-name" }, m.short ?? m.label),
          h("span", { class: "aw-cmp-readout-value" }, text),
        );
      }),
    );
  }

  return { el, update, dispose: () => undefined };
}
