/**
 * anywidget entry of TabularAttributionWidget: feature bars with the shared target, method, badge, legend, progress
 * and error views, on one store. CSS comes through the class's `_css` (core/styles.css).
 */
import type { RenderProps } from "@anywidget/types";
import { h } from "../core/dom";
import { Store } from "../core/store";
import { mountWidget } from "../core/view";
import { TABULAR_KEYS, type TabularAttributionWidgetTraits, type TabularKey, type TabularStore } from "../traits/tabular";
import { createBadge } from "../views/badge";
import { createCaption } from "../views/caption";
import { createBars } from "../views/bars";
import { createControls } from "../views/controls";
import { createLegend } from "../views/legend";
import { createActivity, createErrorBox } from "../views/status";
import { createTargets } from "../views/targets";

function render({ model, el }: RenderProps<TabularAttributionWidgetTraits>): () => void {
  const store: TabularStore = new Store<TabularAttributionWidgetTraits>(model, TABULAR_KEYS);
  const bars = createBars(store);
  const legend = createLegend(store, bars); // after the bars: it shows the extent they were just drawn with
  const targets = createTargets(store);
  const controls = createControls(store);
  const badge = createBadge(store);
  const activity = createActivity(store);
  const errors = createErrorBox(store, "Attribution");

  const { heading: caption, footer } = createCaption(store);

  const root = h(
    "div",
    { class: "aw-root aw-tabular" },
    h("div", { class: "aw-header" }, caption.el, h("div", { class: "aw-status" }, activity.el, badge.el)),
    h(
      "div",
      { class: "aw-body" },
      h("div", { class: "aw-left" }, bars.el, legend.el),
      h("div", { class: "aw-right" }, targets.el, controls.el),
    ),
    errors.el,
    footer,
  );
  const views = [bars, legend, targets, controls, badge, activity, errors, caption];
  return mountWidget<TabularKey>(el, root, store, views, errors.el, {
    figure: { kind: "tabular", parts: [caption.el, bars.el, legend.el] },
  });
}

export default { render };
