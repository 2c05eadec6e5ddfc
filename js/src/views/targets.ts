/** The target selector: the model's top-5 classes with probabilities, plus any other class by number. */
import { Disposer, h } from "../core/dom";
import type { View } from "../core/view";
import type { ClassifierKey, ClassifierStore } from "../traits/shared";

export type TargetsView = View<ClassifierKey>;

/** "97.1%", "0.04%", "<0.01%" */
export function formatProb(p: number): string {
  const pct = p * 100;
  if (pct >= 10) return `${pct.toFixed(1)}%`;
  if (pct >= 0.01) return `${Number(pct.toPrecision(2))}%`;
  return "<0.01%";
}

export function createTargets(store: ClassifierStore): TargetsView {
  const disposer = new Disposer();
  const list = h("div", { class: "aw-targets", role: "listbox", "aria-label": "target class", "data-control": "target" });
  const other = h("input", {
    type: "number",
    class: "aw-number",
    min: 0,
    step: 1,
    "data-control": "target-number",
    "aria-label": "target class index",
  });
  const otherLabel = h("span", { class: "aw-other-label" });
  const el = h(
    "div",
    { class: "aw-field" },
    h("div", { class: "aw-field-head" }, h("span", { class: "aw-field-label" }, "Target class")),
    list,
    h("label", { class: "aw-other" }, h("span", {}, "any class #"), other, otherLabel),
  );

  disposer.listen(list, "click", (event) => {
    const row = (event.target as HTMLElement).closest<HTMLElement>("[data-index]");
    if (row && list.contains(row)) store.setControl("target", Number(row.dataset.index));
  });
  function commitNumber(): void {
    const n = Number(other.value);
    // Out-of-range numbers still go to the kernel, which rejects them with a message shown in the error box.
    if (other.value !== "" && Number.isInteger(n)) store.setControl("target", n);
  }
  // "change" covers the spinner and leaving the box; Enter commits too (a number box outside a form has no submit).
  disposer.listen(other, "change", commitNumber);
  disposer.listen(other, "keydown", (event) => {
    if (event.key !== "Enter") return;
    commitNumber();
    other.blur(); // so the box shows the kernel's answer (it is not overwritten while focused)
  });

  function labelOf(index: number): string {
    return store.get("labels")[index] ?? String(index);
  }

  function update(changed: Set<ClassifierKey>): void {
    const target = store.get("target");
    if (changed.has("top_k") || changed.has("target") || changed.has("labels")) {
      list.replaceChildren(
        ...store.get("top_k").map((p, rank) => {
          const on = p.index === target;
          return h(
            "button",
            {
              type: "button",
              class: on ? "aw-target aw-on" : "aw-target",
              role: "option",
              "aria-selected": String(on),
              "data-index": p.index,
              title: `class ${p.index}: ${p.label} (p = ${p.prob.toPrecision(4)})`,
            },
            h("span", { class: "aw-target-rank" }, String(rank + 1)),
            h("span", { class: "aw-target-label" }, p.label),
            h("span", { class: "aw-target-bar" }, h("span", { style: `width: ${Math.max(0.5, p.prob * 100)}%` })),
            h("span", { class: "aw-target-prob" }, formatProb(p.prob)),
          );
        }),
      );
    }
    if (changed.has("num_classes")) other.max = String(store.get("num_classes") - 1);
    if (changed.has("target") || changed.has("labels") || changed.has("top_k")) {
      if (document.activeElement !== other) other.value = String(target);
      const inTop = store.get("top_k").some((p) => p.index === target);
      otherLabel.textContent = inTop ? labelOf(target) : `${labelOf(target)} (not in the top ${store.get("top_k").length})`;
    }
  }

  return { el, update, dispose: () => disposer.dispose() };
}
