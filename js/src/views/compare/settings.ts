/** The compare widget's settings: baseline (for the methods that use one), steps, sign mode and the shared scale. */
import type { SignMode } from "../../core/colorscale";
import { Disposer, h } from "../../core/dom";
import type { View } from "../../core/view";
import type { CompareKey, CompareStore } from "../../traits/compare";
import { field, segmented } from "../controls";

export function createCompareSettings(store: CompareStore): View<CompareKey> {
  const disposer = new Disposer();
  const baseline = segmented("baseline", (v) => store.setControl("baseline", v), disposer);
  const sign = segmented("sign_mode", (v) => store.setControl("sign_mode", v as SignMode), disposer);
  const shared = h("input", { type: "checkbox", "data-control": "shared_scale", "aria-label": "one colour scale for all maps" });
  disposer.listen(shared, "change", () => store.setControl("shared_scale", shared.checked));
  const stepsValue = h("span", { class: "aw-field-value" });
  const steps = h("input", { type: "range", class: "aw-range", min: 4, max: 300, step: 1, "data-control": "n_steps", "aria-label": "integration steps" });
  // On release, not on every tick: each change recomputes every method that integrates.
  disposer.listen(steps, "input", () => {
    stepsValue.textContent = steps.value;
  });
  disposer.listen(steps, "change", () => store.setControl("n_steps", Number(steps.value)));
  const baselineField = field("Baseline", baseline.el);
  const stepsField = field("Steps", steps, stepsValue);
  const el = h(
    "div",
    { class: "aw-controls" },
    baselineField,
    stepsField,
    field("Show", sign.el),
    h("label", { class: "aw-cmp-toggle" }, shared, h("span", {}, "one colour scale for all maps")),
  );

  function update(changed: Set<CompareKey>): void {
    const options = store.get("options");
    if (changed.has("options")) {
      baseline.setChoices(options.baselines);
      sign.setChoices(options.sign_modes);
      const usesBaseline = options.methods.some((m) => m.uses_baseline);
      const usesSteps = options.methods.some((m) => m.uses_steps);
      baseline.setDisabled(!usesBaseline);
      baselineField.title = usesBaseline ? `used by ${options.methods.filter((m) => m.uses_baseline).map((m) => m.label).join(", ")}` : "no compared method uses a baseline";
      steps.disabled = !usesSteps;
      stepsField.classList.toggle("aw-disabled", !usesSteps);
      stepsField.title = usesSteps ? `used by ${options.methods.filter((m) => m.uses_steps).map((m) => m.label).join(", ")}` : "no compared method integrates";
    }
    if (changed.has("options") || changed.has("baseline")) baseline.select(store.get("baseline"));
    if (changed.has("options") || changed.has("sign_mode")) sign.select(store.get("sign_mode"));
    if (changed.has("shared_scale") || changed.has("options")) shared.checked = store.get("shared_scale");
    if (changed.has("n_steps") || changed.has("options")) {
      const n = store.get("n_steps");
      if (n > Number(steps.max)) steps.max = String(n);
      if (document.activeElement !== steps) steps.value = String(n);
      stepsValue.textContent = String(n);
    }
  }

  return { el, update, dispose: () => disposer.dispose() };
}
