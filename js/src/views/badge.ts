/** The completeness badge: how far Σ attributions is from f(x) − f(baseline), relative to the latter. */
import { formatValue } from "../core/colorscale";
import { h } from "../core/dom";
import type { View } from "../core/view";
import type { ComputeTraits, ResultBase } from "../core/protocol";
import type { StoreKey, StoreView } from "../core/store";
import type { Completeness, ExplainedResult } from "../traits/shared";

type ExplainedStore = StoreView<ComputeTraits<ResultBase & ExplainedResult>>;
type ExplainedKey = StoreKey<ComputeTraits<ResultBase & ExplainedResult>>;

/** Below this relative error completeness counts as satisfied (green). */
export const COMPLETE_BELOW = 1e-2;
const ROUGH_BELOW = 1e-1;

export type BadgeLevel = "good" | "fair" | "poor" | "none";

export function badgeLevel(c: Completeness | null): BadgeLevel {
  if (c === null || c.relative === null || !Number.isFinite(c.relative)) return "none";
  if (c.relative < COMPLETE_BELOW) return "good";
  if (c.relative < ROUGH_BELOW) return "fair";
  return "poor";
}

export type BadgeView = View<ExplainedKey>;

export function createBadge(store: ExplainedStore): BadgeView {
  const value = h("span", { class: "aw-badge-value" });
  const early = h("span", { class: "aw-badge-preliminary" });
  const el = h(
    "span",
    { class: "aw-badge", "data-level": "none" },
    early,
    h("span", { class: "aw-badge-name" }, "completeness"),
    value,
  );

  function update(changed: Set<ExplainedKey>): void {
    if (!changed.has("shown")) return;
    const shown = store.shown;
    const steps = (shown as { steps_taken?: number | null } | null)?.steps_taken;
    early.hidden = shown?.preliminary !== true;
    early.textContent = shown?.preliminary === true ? `preliminary${steps ? ` · ${steps} steps` : ""}` : "";
    el.dataset.preliminary = String(shown?.preliminary === true);
    early.title = "A coarse result shown while the requested steps are computed; the final result replaces it.";
    const c = shown?.error ? null : (shown?.completeness ?? null);
    const level = badgeLevel(c);
    el.dataset.level = level;
    el.hidden = shown === null || shown.error !== null;
    if (c === null) {
      value.textContent = "n/a";
      el.title = `Completeness (Σ attributions = f(x) − f(baseline)) is a property of integrated gradients; ${shown?.method ?? "this method"} does not have it.`;
      return;
    }
    const sum = c.delta + (c.fx - c.fb);
    if (c.relative === null) {
      // f(x) ≈ f(b): a ratio would be noise, so show the absolute figures and say why.
      value.textContent = `Δ ${formatValue(c.delta)}`;
      el.title =
        `Σ attr − (f(x) − f(b)) = ${formatValue(c.delta)}   f(x) − f(b) = ${formatValue(c.gap)}\n` +
        `f(x) = ${formatValue(c.fx)}   f(b) = ${formatValue(c.fb)}\n` +
        `f(x) − f(b) is under ${c.min_gap_fraction * 100} % of max(|f(x)|, |f(b)|): too small for a relative error to mean anything`;
      return;
    }
    value.textContent = `${level === "good" ? "✓ " : ""}${formatValue(c.relative)}`;
    el.title =
      `|Σ attr − (f(x) − f(b))| / |f(x) − f(b)| = ${formatValue(c.relative)}   (Δ = ${formatValue(c.delta)})\n` +
      `Σ attr = ${formatValue(sum)}   f(x) = ${formatValue(c.fx)}   f(b) = ${formatValue(c.fb)}\n` +
      `green below ${COMPLETE_BELOW}; raise n_steps to tighten it`;
  }

  return { el, update, dispose: () => undefined };
}
