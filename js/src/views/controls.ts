/** Method, baseline, n_steps, sign mode and opacity controls; each one writes its trait through the store. */
import { Disposer, h } from "../core/dom";
import type { View } from "../core/view";
import type { AttributionKey, AttributionStore } from "../traits/attribution";
import type { Choice, MethodKey, MethodStore } from "../traits/shared";
import type { SignMode } from "../core/colorscale";

export type ControlsView = View<MethodKey>;

export function field(label: string, control: HTMLElement, extra?: HTMLElement): HTMLElement {
  const head = h("div", { class: "aw-field-head" }, h("span", { class: "aw-field-label" }, label));
  if (extra) head.append(extra);
  return h("div", { class: "aw-field" }, head, control);
}

/** A row of toggle buttons, one per choice. */
export function segmented(name: string, onPick: (value: string) => void, disposer: Disposer) {
  const el = h("div", { class: "aw-segmented", role: "radiogroup", "aria-label": name, "data-control": name });
  let buttons: HTMLButtonElement[] = [];
  disposer.listen(el, "click", (event) => {
    const button = (event.target as HTMLElement).closest("button");
    if (button && !button.disabled && el.contains(button)) onPick(button.dataset.value ?? "");
  });
  return {
    el,
    setChoices(choices: Choice[]): void {
      buttons = choices.map((c) => h("button", { type: "button", role: "radio", "data-value": c.value }, c.label));
      el.replaceChildren(...buttons);
    },
    select(value: string): void {
      for (const b of buttons) {
        const on = b.dataset.value === value;
        b.classList.toggle("aw-on", on);
        b.setAttribute("aria-checked", String(on));
      }
    },
    setDisabled(disabled: boolean, allowed: string[] | null = null): void {
      for (const b of buttons) b.disabled = disabled || (allowed !== null && !allowed.includes(b.dataset.value ?? ""));
      el.classList.toggle("aw-disabled", disabled);
    },
  };
}

export function createControls(store: MethodStore): ControlsView {
  const disposer = new Disposer();

  const method = h("select", { class: "aw-select", "data-control": "method", "aria-label": "attribution method" });
  disposer.listen(method, "change", () => {
    const next = store.get("options").methods.find((m) => m.value === method.value);
    const allowed = next?.baselines ?? [];
    if (next?.uses_baseline && allowed.length > 0 && !allowed.includes(store.get("baseline"))) {
      // Never offer a pair that always fails: switch to a baseline the method can use, in the same message.
      store.setControls({ method: method.value, baseline: allowed[0] });
    } else {
      store.setControl("method", method.value);
    }
  });

  const baseline = segmented("baseline", (v) => store.setControl("baseline", v), disposer);

  const stepsValue = h("span", { class: "aw-field-value" });
  const steps = h("input", {
    type: "range",
    class: "aw-range",
    min: 4,
    max: 300,
    step: 1,
    "data-control": "n_steps",
    "aria-label": "integration steps",
  });
  disposer.listen(steps, "input", () => {
    stepsValue.textContent = steps.value;
    store.setControl("n_steps", Number(steps.value), { dragging: true });
  });
  disposer.listen(steps, "change", () => store.release("n_steps"));

  const sign = segmented("sign_mode", (v) => store.setControl("sign_mode", v as SignMode), disposer);

  const baselineField = field("Baseline", baseline.el);
  const stepsField = field("Steps", steps, stepsValue);
  // Why some methods are not in the list, and what the model's scores were taken to be: one quiet line each.
  const hidden = h("div", { class: "aw-field-note", "data-role": "unavailable-methods" });
  const scores = h("div", { class: "aw-field-note", "data-role": "output-kind" });
  const methodField = field("Method", method);
  methodField.append(hidden, scores);
  const el = h(
    "div",
    { class: "aw-controls" },
    methodField,
    baselineField,
    stepsField,
    field("Show", sign.el),
  );

  function update(changed: Set<MethodKey>): void {
    const options = store.get("options");
    if (changed.has("options")) {
      method.replaceChildren(...options.methods.map((m) => h("option", { value: m.value }, m.label)));
      baseline.setChoices(options.baselines);
      sign.setChoices(options.sign_modes);
      const missing = options.unavailable_methods ?? [];
      hidden.hidden = missing.length === 0;
      hidden.textContent = missing.length ? `Not offered for this model: ${missing.map((m) => `${m.label} (${m.reason})`).join("; ")}` : "";
      const kind = options.output_kind ?? "logits";
      scores.hidden = kind === "logits";
      scores.textContent =
        kind === "probabilities"
          ? "The model outputs probabilities: shown as they are (no second softmax)."
          : kind === "log_probabilities"
            ? "The model outputs log-probabilities: shown as their exponentials."
            : "";
    }
    const current = options.methods.find((m) => m.value === store.get("method"));
    if (changed.has("options") || changed.has("method")) {
      method.value = store.get("method");
      // Controls a method ignores stay visible (the layout does not jump) but are disabled, with the reason.
      const usesBaseline = current?.uses_baseline ?? false;
      const usesSteps = current?.uses_steps ?? false;
      baseline.setDisabled(!usesBaseline, current?.baselines ?? null);
      baselineField.title = usesBaseline ? "" : `${current?.label ?? "this method"} does not use a baseline`;
      steps.disabled = !usesSteps;
      stepsField.classList.toggle("aw-disabled", !usesSteps);
      stepsField.title = usesSteps ? "" : `${current?.label ?? "this method"} has no integration steps`;
    }
    if (changed.has("options") || changed.has("baseline")) baseline.select(store.get("baseline"));
    if (changed.has("options") || changed.has("sign_mode")) sign.select(store.get("sign_mode"));
    if (changed.has("n_steps") || changed.has("options")) {
      const n = store.get("n_steps");
      if (n > Number(steps.max)) steps.max = String(n);
      if (document.activeElement !== steps) steps.value = String(n);
      stepsValue.textContent = String(n);
    }
  }

  return { el, update, dispose: () => disposer.dispose() };
}

/** The heatmap's opacity over the image (image widgets only). */
export function createOpacity(store: AttributionStore): View<AttributionKey> {
  const disposer = new Disposer();
  const value = h("span", { class: "aw-field-value" });
  const opacity = h("input", {
    type: "range",
    class: "aw-range",
    min: 0,
    max: 1,
    step: 0.01,
    "data-control": "opacity",
    "aria-label": "heatmap opacity",
  });
  disposer.listen(opacity, "input", () => store.setControl("opacity", Number(opacity.value)));
  const el = h("div", { class: "aw-controls" }, field("Opacity", opacity, value));

  function update(changed: Set<AttributionKey>): void {
    if (changed.has("opacity") || changed.has("options")) {
      const o = store.get("opacity");
      if (document.activeElement !== opacity) opacity.value = String(o);
      value.textContent = `${Math.round(o * 100)}%`;
    }
  }

  return { el, update, dispose: () => disposer.dispose() };
}
