/**
 * anywidget entry point of AttributionWidget: builds the views, wires them to one store, and returns a cleanup that
 * releases every listener the render registered.
 */
import type { RenderProps } from "@anywidget/types";
import { h } from "./dom";
import { SYNCED_KEYS, Store, type StoreKey } from "./store";
import styles from "./styles.css";
import type { WidgetTraits } from "./types";
import { createBadge } from "./views/badge";
import { createControls } from "./views/controls";
import { createHeatmap } from "./views/heatmap";
import { createLegend } from "./views/legend";
import { createStatus } from "./views/status";
import { createTargets } from "./views/targets";

const ALL_KEYS: StoreKey[] = [...SYNCED_KEYS, "shown", "busy", "hover", "connected"];

function render({ model, el }: RenderProps<WidgetTraits>): () => void {
  const store = new Store(model);
  const heatmap = createHeatmap(store);
  const legend = createLegend(store);
  const controls = createControls(store);
  const targets = createTargets(store);
  const badge = createBadge(store);
  const status = createStatus(store);

  const title = h("span", { class: "aw-title" });
  const subtitle = h("span", { class: "aw-subtitle" });
  const footer = h("div", { class: "aw-footer" });
  const root = h(
    "div",
    { class: "aw-root" },
    h("style", {}, styles),
    h(
      "div",
      { class: "aw-header" },
      h("div", { class: "aw-heading" }, title, subtitle),
      h("div", { class: "aw-status" }, status.busy, status.state, badge.el),
    ),
    h(
      "div",
      { class: "aw-body" },
      h("div", { class: "aw-left" }, heatmap.el, legend.el),
      h("div", { class: "aw-right" }, targets.el, controls.el),
    ),
    status.error,
    footer,
  );

  function methodLabel(value: string): string {
    return store.get("options").methods.find((m) => m.value === value)?.label ?? value;
  }

  function update(changed: Set<StoreKey>): void {
    // Each view is isolated: a failure in one is shown in the error box instead of blanking the widget.
    for (const view of [heatmap, targets, controls, badge, status]) {
      try {
        view.update(changed);
      } catch (err) {
        showInternalError(err);
      }
    }
    legend.update(changed, heatmap.extent(), heatmap.hasHeatmap());
    const shown = store.shown;
    const target = store.get("target");
    const label = store.get("labels")[target] ?? String(target);
    title.textContent = methodLabel(store.get("method"));
    subtitle.textContent = `for class ${label}`;
    footer.textContent = shown
      ? `request ${shown.seq} · ${shown.error ? "failed" : `computed in ${Math.round(shown.elapsed_ms)} ms`} on the kernel`
      : "waiting for the kernel…";
    root.dataset.seq = String(shown?.seq ?? -1);
    root.dataset.busy = String(store.busy);
    root.dataset.dropped = String(store.dropped);
    root.dataset.error = String(Boolean(shown?.error));
    root.dataset.activity = store.get("activity")?.state ?? "idle";
    root.dataset.connected = String(store.connected);
    root.classList.toggle("aw-stale", store.stale);
    root.classList.toggle("aw-disconnected", !store.connected);
    for (const control of root.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLButtonElement>(
      ".aw-right input, .aw-right select, .aw-right button, .aw-status button",
    )) {
      if (!store.connected) control.disabled = true;
    }
  }

  function showInternalError(err: unknown): void {
    const box = status.error;
    box.hidden = false;
    const message = box.querySelector(".aw-error-message");
    if (message) message.textContent = `widget view error: ${err instanceof Error ? err.message : String(err)}`;
    console.error("attr_widgets view error", err);
  }

  const unsubscribe = store.subscribe(update);
  update(new Set(ALL_KEYS));
  el.append(root);

  return () => {
    unsubscribe();
    heatmap.dispose();
    controls.dispose();
    targets.dispose();
    status.dispose();
    store.dispose();
    root.remove();
  };
}

export default { render };
