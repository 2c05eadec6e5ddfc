/** The controls that recompute the directions: the layer and k (a pass over the data, with progress and cancel). */
import { Disposer, h } from "../../core/dom";
import type { View } from "../../core/view";
import type { DirectionsKey, DirectionsStore } from "../../traits/directions";

export function createSettings(store: DirectionsStore): View<DirectionsKey> {
  const disposer = new Disposer();
  const layer = h("select", { class: "aw-select", "data-control": "layer", "aria-label": "layer" });
  const k = h("input", { type: "number", class: "aw-dir-number", min: 1, max: 64, step: 1, "data-control": "k", "aria-label": "number of directions" });
  disposer.listen(layer, "change", () => store.setControl("layer", layer.value));
  disposer.listen(k, "change", () => {
    const value = Math.round(Number(k.value));
    if (Number.isFinite(value) && value >= 1 && value <= 64) store.setControl("k", value);
    else k.value = String(store.get("k"));
  });

  function update(changed: Set<DirectionsKey>): void {
    if (changed.has("layer_names")) {
      layer.replaceChildren(...store.get("layer_names").map((name) => h("option", { value: name }, name)));
    }
    if (changed.has("layer") || changed.has("layer_names")) layer.value = store.get("layer");
    if (changed.has("k")) k.value = String(store.get("k"));
  }

  const el = h(
    "div",
    { class: "aw-dir-settings" },
    h("label", { class: "aw-dir-setting" }, "layer ", layer),
    h("label", { class: "aw-dir-setting" }, "k ", k),
  );
  return { el, update, dispose: () => disposer.dispose() };
}
