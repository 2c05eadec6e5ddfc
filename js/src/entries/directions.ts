/**
 * anywidget entry of DirectionsWidget (Hilton, "A basis-invariant version of attribution", 2024): sliders along
 * the important directions of a layer, the output before → after, the spectrum vs PCA's, and the top/bottom
 * examples of the selected direction, all on one store. The CSS comes through the class's `_css`.
 */
import type { RenderProps } from "@anywidget/types";
import { h } from "../core/dom";
import { Store } from "../core/store";
import { mountWidget, staticView } from "../core/view";
import {
  DIRECTIONS_KEYS,
  type DirectionsKey,
  type DirectionsLocal,
  type DirectionsStore,
  type DirectionsWidgetTraits,
} from "../traits/directions";
import { createExampleImage, createExtremes } from "../views/directions/examples";
import { createOutput } from "../views/directions/output";
import { createSettings } from "../views/directions/settings";
import { createSliders } from "../views/directions/sliders";
import { createSpectrum } from "../views/directions/spectrum";
import { createActivity, createErrorBox } from "../views/status";

function createCaption(store: DirectionsStore) {
  const title = h("span", { class: "aw-title" }, "Important directions");
  const subtitle = h("span", { class: "aw-subtitle" });
  const footer = h("div", { class: "aw-footer" });
  const heading = staticView<DirectionsKey>(h("div", { class: "aw-heading" }, title, subtitle), () => {
    const shown = store.shown;
    subtitle.textContent = `at layer ${store.get("layer") || "(model output)"}`;
    const about = shown?.n_samples
      ? ` · ${shown.n_directions} directions from ${shown.n_samples} examples × ${shown.n_features} features (${shown.method})`
      : "";
    footer.textContent = shown
      ? `request ${shown.seq} · ${shown.error ? "failed" : `computed in ${Math.round(shown.elapsed_ms)} ms`} on the kernel${about} · ` +
        'Hilton, "A basis-invariant version of attribution" (2024)'
      : "waiting for the kernel…";
  });
  return { heading, footer };
}

function render({ model, el }: RenderProps<DirectionsWidgetTraits>): () => void {
  const store: DirectionsStore = new Store<DirectionsWidgetTraits, DirectionsLocal>(model, DIRECTIONS_KEYS, { pending: null });
  const settings = createSettings(store);
  const sliders = createSliders(store);
  const output = createOutput(store);
  const image = createExampleImage(store);
  const spectrum = createSpectrum(store);
  const extremes = createExtremes(store);
  const activity = createActivity(store);
  const errors = createErrorBox(store, "Directions");
  const { heading, footer } = createCaption(store);

  const root = h(
    "div",
    { class: "aw-root aw-dir" },
    h("div", { class: "aw-header" }, heading.el, h("div", { class: "aw-status" }, settings.el, activity.el)),
    h(
      "div",
      { class: "aw-dir-body" },
      h("div", { class: "aw-dir-col" }, image.el, output.el),
      h("div", { class: "aw-dir-col aw-dir-col-wide" }, sliders.el, h("div", { class: "aw-dir-pair" }, spectrum.el, extremes.el)),
    ),
    errors.el,
    footer,
  );
  const views = [settings, sliders, output, image, spectrum, extremes, activity, errors, heading];
  return mountWidget<DirectionsKey>(el, root, store, views, errors.el, {
    figure: { kind: "directions", parts: [heading.el, image.el, output.el, spectrum.el] },
  });
}

export default { render };
