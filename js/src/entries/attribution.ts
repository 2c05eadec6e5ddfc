/**
 * anywidget entry of AttributionWidget: builds its views on one store, lays them out, and returns a cleanup that
 * releases every listener the render registered. The CSS comes through the class's `_css` (one stylesheet for
 * all widgets, see core/styles.css), not a <style> per render.
 */
import type { RenderProps } from "@anywidget/types";
import { h } from "../core/dom";
import { Store } from "../core/store";
import { composeViews, reflectState, showViewError, staticView } from "../core/view";
import {
  ATTRIBUTION_KEYS,
  type AttributionKey,
  type AttributionLocal,
  type AttributionStore,
  type AttributionWidgetTraits,
} from "../traits/attribution";
import { createBadge } from "../views/badge";
import { createControls, createOpacity } from "../views/controls";
import { createHeatmap } from "../views/heatmap";
import { createLegend } from "../views/legend";
import { createActivity, createErrorBox } from "../views/status";
import { createTargets } from "../views/targets";

/** Title ("Integrated Gradients for class dog") and the footer line about the request on screen. */
function createCaption(store: AttributionStore) {
  const title = h("span", { class: "aw-title" });
  const subtitle = h("span", { class: "aw-subtitle" });
  const footer = h("div", { class: "aw-footer" });
  const heading = staticView<AttributionKey>(h("div", { class: "aw-heading" }, title, subtitle), () => {
    const method = store.get("method");
    title.textContent = store.get("options").methods.find((m) => m.value === method)?.label ?? method;
    const target = store.get("target");
    subtitle.textContent = `for class ${store.get("labels")[target] ?? String(target)}`;
    const shown = store.shown;
    footer.textContent = shown
      ? `request ${shown.seq} · ${shown.error ? "failed" : `computed in ${Math.round(shown.elapsed_ms)} ms`} on the kernel`
      : "waiting for the kernel…";
  });
  return { heading, footer };
}

function render({ model, el }: RenderProps<AttributionWidgetTraits>): () => void {
  const store: AttributionStore = new Store<AttributionWidgetTraits, AttributionLocal>(model, ATTRIBUTION_KEYS, {
    hover: null,
  });
  const heatmap = createHeatmap(store);
  const legend = createLegend(store, heatmap); // after the heatmap: it shows the extent the heatmap just drew
  const controls = createControls(store);
  const opacity = createOpacity(store);
  const targets = createTargets(store);
  const badge = createBadge(store);
  const activity = createActivity(store);
  const errors = createErrorBox(store, "Attribution");
  const { heading, footer } = createCaption(store);

  const root = h(
    "div",
    { class: "aw-root" },
    h("div", { class: "aw-header" }, heading.el, h("div", { class: "aw-status" }, activity.el, badge.el)),
    h(
      "div",
      { class: "aw-body" },
      h("div", { class: "aw-left" }, heatmap.el, legend.el),
      h("div", { class: "aw-right" }, targets.el, controls.el, opacity.el),
    ),
    errors.el,
    footer,
  );
  const views = composeViews<AttributionKey>(
    [heatmap, legend, targets, controls, opacity, badge, activity, errors, heading],
    (err) => showViewError(errors.el, err),
  );

  function update(changed: Set<AttributionKey>): void {
    views.update(changed);
    reflectState(root, store);
  }

  const unsubscribe = store.subscribe(update);
  update(store.allKeys());
  el.append(root);

  return () => {
    unsubscribe();
    views.dispose();
    store.dispose();
    root.remove();
  };
}

export default { render };
