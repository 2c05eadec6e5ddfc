/**
 * anywidget entry of AttributionWidget: builds its views on one store, lays them out, and returns a cleanup that
 * releases every listener the render registered. The CSS comes through the class's `_css` (one stylesheet for
 * all widgets, see core/styles.css), not a <style> per render.
 */
import type { RenderProps } from "@anywidget/types";
import { h } from "../core/dom";
import { Store } from "../core/store";
import { asPixel, type LinkedSelection } from "../core/link";
import { mountWidget } from "../core/view";
import {
  ATTRIBUTION_KEYS,
  type AttributionKey,
  type AttributionLocal,
  type AttributionStore,
  type AttributionWidgetTraits,
} from "../traits/attribution";
import { createBadge } from "../views/badge";
import { createCaption } from "../views/caption";
import { createEvaluation } from "../views/evaluation/panel";
import { createControls, createOpacity } from "../views/controls";
import { createHeatmap } from "../views/heatmap";
import { createLegend } from "../views/legend";
import { createActivity, createErrorBox } from "../views/status";
import { createTargets } from "../views/targets";

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
  const evaluation = createEvaluation(store, heatmap);

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
    evaluation.el,
    errors.el,
    footer,
  );
  const views = [heatmap, legend, targets, controls, opacity, badge, activity, errors, heading, evaluation];
  const links: LinkedSelection<AttributionKey>[] = [
    {
      name: "hover",
      key: "hover",
      read: () => {
        const hover = store.local("hover");
        return hover ? { x: hover.x, y: hover.y } : null;
      },
      apply: (value) => heatmap.pointTo(asPixel(value)),
    },
  ];
  return mountWidget<AttributionKey>(el, root, store, views, errors.el, {
    links,
    figure: { kind: "attribution", parts: [heading.el, heatmap.el, legend.el] },
  });
}

export default { render };
