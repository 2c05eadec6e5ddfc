/** The colour scale under the image: a gradient bar for the current sign mode with the scale's values as ticks. */
import { colorOf, formatValue, GHOST_CONTRAST, legendTicks, overlayAlpha } from "../core/colorscale";
import { h } from "../core/dom";
import type { View } from "../core/view";
import type { SignMode } from "../core/colorscale";
import type { ComputeTraits } from "../core/protocol";
import type { StoreKey, StoreView } from "../core/store";

/** What a legend reads: how values are shown. */
interface ScaleTraits extends ComputeTraits {
  sign_mode: SignMode;
  outlier_percent: number;
}

const GHOST_GREY = Math.round(255 * (1 - GHOST_CONTRAST / 2));
const GHOST_BACKGROUND = `rgb(${GHOST_GREY}, ${GHOST_GREY}, ${GHOST_GREY})`;

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

/** The scale the legend shows: read from the view that draws with it, so the two always agree. */
export interface ScaleSource {
  extent(): number;
  hasHeatmap(): boolean;
  /** A line about how the values were made (e.g. "summed over the embedding dimension"), if any. */
  note?(): string;
  /** True when each of several maps has its own extent: ticks are then fractions of each map's extent. */
  relative?(): boolean;
}

export function createLegend(store: StoreView<ScaleTraits>, scale: ScaleSource): View<StoreKey<ScaleTraits>> {
  const bar = h("div", { class: "aw-legend-bar" });
  const ticks = h("div", { class: "aw-legend-ticks" });
  const caption = h("div", { class: "aw-legend-caption" });
  const el = h("div", { class: "aw-legend", role: "img" }, bar, ticks, caption);
  let drawn = "";

  function update(): void {
    const extent = scale.extent();
    const hasHeatmap = scale.hasHeatmap();
    const mode = store.get("sign_mode");
    const outlier = store.get("outlier_percent");
    const note = scale.note?.() ?? "";
    const relative = scale.relative?.() ?? false;
    const key = `${mode}|${extent}|${outlier}|${hasHeatmap}|${note}|${relative}`;
    if (key === drawn) return;
    drawn = key;
    // Over the same light grey the canvas fades the image to, so the bar shows the colours the canvas shows.
    bar.style.background = `${gradientCss(mode)}, ${GHOST_BACKGROUND}`;
    el.classList.toggle("aw-legend-empty", !hasHeatmap);
    if (!hasHeatmap) {
      ticks.replaceChildren();
      caption.textContent = `${CAPTIONS[mode]} · no heatmap to show`;
      el.setAttribute("aria-label", "no heatmap to show");
      return;
    }
    const values = legendTicks(mode, relative ? 1 : extent);
    const label = (v: number) => (relative ? `${Math.round(v * 100)} %` : formatValue(v));
    ticks.replaceChildren(
      ...values.map((v) => h("span", { class: "aw-tick" }, v > 0 && mode === "signed" ? `+${label(v)}` : label(v))),
    );
    const clip = outlier > 0 ? ` · clipped at the ${100 - outlier}th percentile` : "";
    const how = note ? ` · ${note}` : "";
    caption.textContent = extent > 0 || relative ? `${CAPTIONS[mode]}${clip}${how}` : `${CAPTIONS[mode]} · all zero`;
    el.setAttribute("aria-label", `colour scale from ${label(values[0])} to ${label(values[values.length - 1])}`);
  }

  return { el, update, dispose: () => undefined };
}
