/**
 * The token view: each token (or word) as text on the attribution colour scale, centred at zero; hover reads its
 * value and share, a click pins it. Text goes in with `textContent`, never as HTML: a token `<b>` shows "<b>".
 */
import { decodeHeatmap } from "../core/codecs";
import { colorOf, formatValue, normalise, overlayAlpha, scaleExtent } from "../core/colorscale";
import { Disposer, h } from "../core/dom";
import { luminance, textUnits, type Unit } from "../core/units";
import type { View } from "../core/view";
import type { TextKey, TextStore } from "../traits/text";

const REDRAW: TextKey[] = ["tokens", "shown", "words", "show_special", "sign_mode", "outlier_percent", "pinned"];

export interface TokensView extends View<TextKey> {
  extent(): number;
  hasHeatmap(): boolean;
  note(): string;
}

/** The opaque colour of a unit over a white page, and a text colour that reads on it. */
export function unitColours(mode: Parameters<typeof colorOf>[0], score: number, extent: number): { bg: string; fg: string } | null {
  const t = normalise(mode, score, extent);
  const a = overlayAlpha(t, 1);
  if (a < 0.02) return null;
  const [r, g, b] = colorOf(mode, t).map((c) => 255 + (c - 255) * a);
  return {
    bg: `rgb(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)})`,
    fg: luminance(r, g, b) < 0.3 ? "#ffffff" : "#1f2328",
  };
}

export function createTokens(store: TextStore): TokensView {
  const disposer = new Disposer();
  const body = h("div", { class: "aw-tokens", role: "list", "aria-label": "tokens coloured by attribution" });
  const readout = h("div", { class: "aw-readout", "aria-live": "polite", "data-aw-no-export": true });
  const truncation = h("div", { class: "aw-token-note" });
  const el = h("div", { class: "aw-token-view" }, body, readout, truncation);
  let units: Unit[] = [];
  let extent = 0;
  let scores: Float32Array | null = null;

  function decode(): void {
    const shown = store.shown;
    const tokens = store.get("tokens");
    const raw = shown?.scores ? decodeHeatmap({ ...shown.scores, shape: [1, shown.scores.shape[0]] }).data : null;
    // A result for another example (its scores do not match these tokens) is not drawn over them.
    scores = raw && raw.length === tokens.length && shown?.example === store.get("example") ? raw : null;
  }

  function draw(): void {
    const mode = store.get("sign_mode");
    units = textUnits(store.get("tokens"), scores, store.get("words"), store.get("show_special"));
    extent = scores ? scaleExtent(Float32Array.from(units.map((u) => u.score)), mode, store.get("outlier_percent")) : 0;
    const pinned = store.get("pinned");
    body.replaceChildren(
      ...units.map((unit, i) => {
        const span = h("span", { class: "aw-tok", role: "listitem", "data-unit": i, "data-token": unit.tokens[0] });
        span.textContent = unit.text;
        if (unit.special) span.classList.add("aw-tok-special");
        if (unit.tokens.includes(pinned)) span.classList.add("aw-tok-pinned");
        const colours = scores ? unitColours(mode, unit.score, extent) : null;
        if (colours) {
          span.style.background = colours.bg;
          span.style.color = colours.fg;
        }
        span.dataset.score = String(unit.score);
        return unit.space && i > 0 ? [document.createTextNode(" "), span] : [span];
      }).flat(),
    );
    const cut = store.get("truncated_from");
    truncation.hidden = cut === 0;
    truncation.textContent = cut ? `Cut to the model's maximum: ${store.get("tokens").length} of ${cut} tokens.` : "";
  }

  function showReadout(): void {
    const index = store.local("hover") ?? (store.get("pinned") >= 0 ? store.get("pinned") : null);
    const unit = index === null ? undefined : units.find((u) => u.tokens.includes(index));
    if (!unit || !scores) {
      readout.textContent = scores ? "hover over a token to read its attribution; click to pin it" : "";
      readout.classList.remove("aw-readout-active");
      return;
    }
    const total = units.reduce((sum, u) => sum + Math.abs(u.score), 0);
    const share = total > 0 ? ` · ${((100 * Math.abs(unit.score)) / total).toPrecision(3)} % of Σ|attribution|` : "";
    const sign = unit.score > 0 ? "+" : "";
    readout.textContent = `“${unit.text}”   attribution ${sign}${formatValue(unit.score)}${share}`;
    readout.classList.add("aw-readout-active");
  }

  function unitAt(target: EventTarget | null): Unit | undefined {
    const span = (target as HTMLElement | null)?.closest?.<HTMLElement>(".aw-tok");
    return span && body.contains(span) ? units[Number(span.dataset.unit)] : undefined;
  }

  disposer.listen(body, "pointerover", (event) => store.setLocal("hover", unitAt(event.target)?.tokens[0] ?? null));
  disposer.listen(body, "pointerleave", () => store.setLocal("hover", null));
  disposer.listen(body, "click", (event) => {
    const unit = unitAt(event.target);
    if (!unit) return;
    store.setControl("pinned", unit.tokens.includes(store.get("pinned")) ? -1 : unit.tokens[0]);
  });

  function update(changed: Set<TextKey>): void {
    if (changed.has("shown") || changed.has("tokens") || changed.has("example")) decode();
    if (REDRAW.some((k) => changed.has(k)) || changed.has("example")) draw();
    if (changed.has("busy")) el.classList.toggle("aw-stale", store.busy);
    if (changed.has("hover") || REDRAW.some((k) => changed.has(k))) showReadout();
    el.dataset.extent = String(extent);
    el.dataset.units = String(units.length);
  }

  function note(): string {
    const method = store.get("options").methods.find((m) => m.value === store.get("method"));
    const merged = store.get("words") ? "words: sums of their pieces" : "";
    return [method?.reduction ?? "", merged].filter(Boolean).join(" · ");
  }

  return {
    el,
    update,
    extent: () => extent,
    hasHeatmap: () => scores !== null,
    note,
    dispose: () => disposer.dispose(),
  };
}
