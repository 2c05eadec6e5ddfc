/** The colour scale under the image: a gradient bar for the current sign mode with the scale's values as ticks. */
import { colorOf, formatValue, legendTicks, overlayAlpha } from "../colormap";
import { h } from "../dom";
import type { Store, StoreKey } from "../store";
import type { SignMode } from "../types";

const CAPTIONS: Record<SignMode, string> = {
  positive: "positive attribution (evidence for the target)",
  negative: "negative attribution (evidence against the target)",
  absolute: "|attribution|",
  signed: "attribution: negative ← 0 → positive",
};

/** CSS linear-gradient of the mode's colour map as the overlay draws it (colour and alpha), left to right. */
export function gradientCss(mode: SignMode, stops = 16): string {
  const colours: string[] = [];
  for (let i = 0; i <= stops; i++) {
    const u = i / stops;
    const t = mode === "signed" ? 2 * u - 1 : u;
    const [r, g, b] = colorOf(mode, t);
    const a = overlayAlpha(t, 1);
    colours.push(`rgba(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)}, ${a.toFixed(3)})`);
  }
  return `linear-gradient(to right, ${colours.join(", ")})`;
}

export interface LegendView {
  el: HTMLElement;
  update(changed: Set<StoreKey>, extent: number): void;
}

export function createLegend(store: Store): LegendView {
  const bar = h("div", { class: "aw-legend-bar" });
  const ticks = h("div", { class: "aw-legend-ticks" });
  const caption = h("div", { class: "aw-legend-caption" });
  const el = h("div", { class: "aw-legend", role: "img" }, bar, ticks, caption);
  let drawn = "";

  function update(_changed: Set<StoreKey>, extent: number): void {
    const mode = store.get("sign_mode");
    const outlier = store.get("outlier_percent");
    const key = `${mode}|${extent}|${outlier}`;
    if (key === drawn) return;
    drawn = key;
    bar.style.background = gradientCss(mode);
    const values = legendTicks(mode, extent);
    ticks.replaceChildren(
      ...values.map((v) => h("span", { class: "aw-tick" }, v > 0 && mode === "signed" ? `+${formatValue(v)}` : formatValue(v))),
    );
    const clip = outlier > 0 ? ` · clipped at the ${100 - outlier}th percentile` : "";
    caption.textContent = extent > 0 ? `${CAPTIONS[mode]}${clip}` : `${CAPTIONS[mode]} · all zero`;
    el.setAttribute("aria-label", `colour scale from ${formatValue(values[0])} to ${formatValue(values[values.length - 1])}`);
  }

  return { el, update };
}
