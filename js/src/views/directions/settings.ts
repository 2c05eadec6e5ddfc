/**
 * The controls that recompute the directions (a pass over the data, with progress and cancel): the layer, k and
 * the target f (each example's top class, one class, or the callable given in Python, shown by its label).
 */
import { Disposer, h } from "../../core/dom";
import type { View } from "../../core/view";
import type { DirectionsKey, DirectionsStore } from "../../traits/directions";

/** The target as an option value: "top", "class:<i>" or "fn:<label>" (a callable's label). */
export function encodeTarget(target: number | string | null): string {
  return target === null ? "top" : typeof target === "number" ? `class:${target}` : `fn:${target}`;
}

export function decodeTarget(value: string): number | string | null {
  if (value.startsWith("class:")) return Number(value.slice(6));
  if (value.startsWith("fn:")) return value.slice(3);
  return null;
}

export function createSettings(store: DirectionsStore): View<DirectionsKey> {
  const disposer = new Disposer();
  const layer = h("select", { class: "aw-select", "data-control": "layer", "aria-label": "layer" });
  const k = h("input", { type: "number", class: "aw-dir-number", min: 1, max: 64, step: 1, "data-control": "k", "aria-label": "number of directions" });
  const target = h("select", { class: "aw-select", "data-control": "target", "aria-label": "target f" });
  disposer.listen(layer, "change", () => store.setControl("layer", layer.value));
  disposer.listen(target, "change", () => store.setControl("target", decodeTarget(target.value)));
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
    if (changed.has("target") || changed.has("labels")) {
      const current = store.get("target");
      const options = [h("option", { value: "top" }, "top class"), ...store.get("labels").map((label, i) => h("option", { value: `class:${i}` }, label))];
      if (typeof current === "string") options.push(h("option", { value: `fn:${current}` }, current));
      target.replaceChildren(...options);
      target.value = encodeTarget(current);
    }
  }

  const el = h(
    "div",
    { class: "aw-dir-settings" },
    h("label", { class: "aw-dir-setting" }, "layer ", layer),
    h("label", { class: "aw-dir-setting" }, "f ", target),
    h("label", { class: "aw-dir-setting" }, "k ", k),
  );
  return { el, update, dispose: () => disposer.dispose() };
}
