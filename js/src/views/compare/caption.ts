/** The compare widget's heading ("5 methods for class seven") and its footer about the result on screen. */
import { h } from "../../core/dom";
import { staticView, type View } from "../../core/view";
import type { CompareKey, CompareStore } from "../../traits/compare";

export function createCompareCaption(store: CompareStore): { heading: View<CompareKey>; footer: HTMLElement } {
  const title = h("span", { class: "aw-title" });
  const subtitle = h("span", { class: "aw-subtitle" });
  const footer = h("div", { class: "aw-footer" });
  const heading = staticView<CompareKey>(h("div", { class: "aw-heading" }, title, subtitle), () => {
    const n = store.get("options").methods.length;
    title.textContent = `${n} method${n === 1 ? "" : "s"} side by side`;
    const target = store.get("target");
    subtitle.textContent = `for class ${store.get("labels")[target] ?? String(target)}`;
    const shown = store.shown;
    if (!shown) {
      footer.textContent = "waiting for the kernel…";
      return;
    }
    const done = (shown.finished ?? Object.keys(shown.maps)).length;
    const what = shown.complete ? `computed in ${Math.round(shown.elapsed_ms)} ms` : `${done} of ${n} maps so far`;
    footer.textContent = `request ${shown.seq} · ${shown.error ? "failed" : what} on the kernel · fast methods first`;
  });
  return { heading, footer };
}
