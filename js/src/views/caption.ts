/** The classifier widgets' heading ("Integrated Gradients for class dog") and footer about the result on screen. */
import { h } from "../core/dom";
import type { ComputeTraits } from "../core/protocol";
import type { StoreKey, StoreView } from "../core/store";
import { staticView, type View } from "../core/view";
import type { ClassifierTraits, MethodTraits } from "../traits/shared";

type CaptionTraits = ComputeTraits & ClassifierTraits & MethodTraits;

export function createCaption(store: StoreView<CaptionTraits>): {
  heading: View<StoreKey<CaptionTraits>>;
  footer: HTMLElement;
} {
  const title = h("span", { class: "aw-title" });
  const subtitle = h("span", { class: "aw-subtitle" });
  const footer = h("div", { class: "aw-footer" });
  const heading = staticView<StoreKey<CaptionTraits>>(h("div", { class: "aw-heading" }, title, subtitle), () => {
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
