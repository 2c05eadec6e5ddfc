/**
 * anywidget entry of CompareWidget: the grid of maps (one per method, one colour scale), the legend, the linked
 * hover readout, the agreement matrix with its pair view, the target selector and the settings, on one store.
 */
import type { RenderProps } from "@anywidget/types";
import { h } from "../core/dom";
import { Store } from "../core/store";
import { asPixel, type LinkedSelection } from "../core/link";
import { mountWidget } from "../core/view";
import { COMPARE_KEYS, type CompareKey, type CompareLocal, type CompareStore, type CompareWidgetTraits } from "../traits/compare";
import { createAgreement } from "../views/compare/agreement";
import { createCompareCaption } from "../views/compare/caption";
import { createCompareEvaluation } from "../views/compare/evaluation";
import { createGrid, samePixel } from "../views/compare/grid";
import { createPair } from "../views/compare/pair";
import { createHoverReadout } from "../views/compare/readout";
import { createCompareSettings } from "../views/compare/settings";
import { createLegend } from "../views/legend";
import { createActivity, createErrorBox } from "../views/status";
import { createTargets } from "../views/targets";

function render({ model, el }: RenderProps<CompareWidgetTraits>): () => void {
  const store: CompareStore = new Store<CompareWidgetTraits, CompareLocal>(model, COMPARE_KEYS, {
    hover: null,
    metric: "spearman",
    pair: null,
  });
  const grid = createGrid(store);
  const legend = createLegend(store, grid); // after the grid: it shows the extent the grid just drew
  const readout = createHoverReadout(store, grid);
  const agreement = createAgreement(store);
  const pair = createPair(store, grid);
  const targets = createTargets(store);
  const settings = createCompareSettings(store);
  const activity = createActivity(store);
  const errors = createErrorBox(store, "Comparison");
  const evaluation = createCompareEvaluation(store);
  const { heading, footer } = createCompareCaption(store);

  const root = h(
    "div",
    { class: "aw-root aw-compare" },
    h("div", { class: "aw-header" }, heading.el, h("div", { class: "aw-status" }, activity.el)),
    grid.el,
    h("div", { class: "aw-cmp-under" }, legend.el, readout.el),
    h(
      "div",
      { class: "aw-body" },
      h("div", { class: "aw-cmp-left" }, agreement.el, pair.el),
      h("div", { class: "aw-right" }, targets.el, settings.el),
    ),
    evaluation.el,
    errors.el,
    footer,
  );
  const views = [grid, legend, readout, agreement, pair, targets, settings, activity, errors, heading, evaluation];
  const links: LinkedSelection<CompareKey>[] = [
    {
      name: "hover",
      key: "hover",
      read: () => store.local("hover"),
      apply: (value) => store.setLocal("hover", asPixel(value), samePixel),
    },
  ];
  return mountWidget<CompareKey>(el, root, store, views, errors.el, {
    links,
    figure: { kind: "compare", parts: [heading.el, grid.el, legend.el] },
  });
}

export default { render };
