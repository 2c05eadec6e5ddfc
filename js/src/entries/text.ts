/**
 * anywidget entry of TextAttributionWidget: token highlights with the shared target, method, badge, progress and
 * error views, on one store. CSS comes through the class's `_css` (core/styles.css).
 */
import type { RenderProps } from "@anywidget/types";
import { h } from "../core/dom";
import { Store } from "../core/store";
import type { LinkedSelection } from "../core/link";
import { mountWidget } from "../core/view";
import { TEXT_KEYS, type TextAttributionWidgetTraits, type TextKey, type TextLocal, type TextStore } from "../traits/text";
import { createBadge } from "../views/badge";
import { createCaption } from "../views/caption";
import { createControls } from "../views/controls";
import { createErasure } from "../views/erasure";
import { createLegend } from "../views/legend";
import { createActivity, createErrorBox } from "../views/status";
import { createTargets } from "../views/targets";
import { createTextOptions } from "../views/text_options";
import { createTokens } from "../views/tokens";

function render({ model, el }: RenderProps<TextAttributionWidgetTraits>): () => void {
  const store: TextStore = new Store<TextAttributionWidgetTraits, TextLocal>(model, TEXT_KEYS, { hover: null });
  const tokens = createTokens(store);
  const legend = createLegend(store, tokens); // after the tokens: it shows the extent they were just drawn with
  const options = createTextOptions(store);
  const targets = createTargets(store);
  const controls = createControls(store);
  const badge = createBadge(store);
  const activity = createActivity(store);
  const errors = createErrorBox(store, "Attribution");
  const erasure = createErasure(store);

  const { heading: caption, footer } = createCaption(store);

  const root = h(
    "div",
    { class: "aw-root aw-text" },
    h("div", { class: "aw-header" }, caption.el, h("div", { class: "aw-status" }, activity.el, badge.el)),
    h(
      "div",
      { class: "aw-body" },
      h("div", { class: "aw-left" }, options.el, tokens.el, legend.el),
      h("div", { class: "aw-right" }, targets.el, controls.el),
    ),
    erasure.el,
    errors.el,
    footer,
  );
  const views = [tokens, legend, options, targets, controls, badge, activity, erasure, errors, caption];
  const links: LinkedSelection<TextKey>[] = [
    {
      name: "token",
      key: "hover",
      read: () => store.local("hover"),
      apply: (value) => {
        const n = store.get("tokens").length;
        store.setLocal("hover", Number.isInteger(value) && (value as number) >= 0 && (value as number) < n ? (value as number) : null);
      },
    },
  ];
  return mountWidget<TextKey>(el, root, store, views, errors.el, {
    links,
    figure: { kind: "text", parts: [caption.el, tokens.el, legend.el] },
  });
}

export default { render };
