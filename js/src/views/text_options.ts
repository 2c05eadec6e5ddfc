/** The text widget's own controls: which example, tokens or words, special tokens shown or not. */
import { Disposer, h } from "../core/dom";
import type { View } from "../core/view";
import type { TextKey, TextStore } from "../traits/text";

export function createTextOptions(store: TextStore): View<TextKey> {
  const disposer = new Disposer();
  const example = h("select", { class: "aw-select", "data-control": "example", "aria-label": "example" });
  disposer.listen(example, "change", () => store.setControl("example", Number(example.value)));
  const exampleField = h("label", { class: "aw-text-option aw-example" }, h("span", {}, "Example"), example);

  function toggle(name: "words" | "show_special" | "erasure" | "auto_steps", label: string, title: string) {
    const input = h("input", { type: "checkbox", "data-control": name });
    disposer.listen(input, "change", () => store.setControl(name, input.checked));
    return { input, el: h("label", { class: "aw-text-option", title }, input, h("span", {}, label)) };
  }
  const wordsTitle = "Join subword pieces into words (the tokenizer's word boundaries); a word's score is the sum of its pieces'";
  const words = toggle("words", "words", wordsTitle);
  const special = toggle("show_special", "special tokens", "Show [CLS], [SEP] and the model's other special tokens");
  const erasure = toggle("erasure", "erasure test", "Remove tokens from the top of each ranking until the decision flips (Serrano and Smith, 2019); many forward passes");
  const autoTitle =
    "Integrated Gradients with n_steps=\"auto\": add quadrature nodes until |delta| ≤ tol·|f(x) − f(baseline)|";
  const auto = toggle("auto_steps", "auto steps", autoTitle);
  const tol = h("input", {
    type: "number",
    class: "aw-number aw-tol",
    min: 1e-6,
    max: 0.5,
    step: "any",
    "data-control": "tol",
    "aria-label": "tolerance of auto steps",
    title: "tol: the largest |delta| allowed, as a fraction of |f(x) − f(baseline)|",
  });
  disposer.listen(tol, "change", () => {
    const value = Number(tol.value);
    if (tol.value !== "" && Number.isFinite(value)) store.setControl("tol", value);
  });
  const taken = h("span", { class: "aw-steps-taken", "data-role": "steps-taken" });
  auto.el.append(tol, taken);
  const el = h("div", { class: "aw-text-options" }, exampleField, words.el, special.el, erasure.el, auto.el);

  function update(changed: Set<TextKey>): void {
    if (changed.has("examples")) {
      const list = store.get("examples");
      example.replaceChildren(...list.map((text, i) => h("option", { value: i }, `${i + 1}. ${text}`)));
      exampleField.hidden = list.length < 2;
    }
    if (changed.has("examples") || changed.has("example")) example.value = String(store.get("example"));
    if (changed.has("words") || changed.has("words_available")) {
      words.input.checked = store.get("words");
      words.input.disabled = !store.get("words_available");
      words.el.title = store.get("words_available")
        ? wordsTitle
        : "Words need the text and a fast tokenizer (character offsets); this input has token ids only";
    }
    if (changed.has("show_special")) special.input.checked = store.get("show_special");
    if (changed.has("erasure")) erasure.input.checked = store.get("erasure");
    if (changed.has("auto_steps") || changed.has("method") || changed.has("options")) {
      auto.input.checked = store.get("auto_steps");
      const method = store.get("options").methods?.find((m) => m.value === store.get("method"));
      const steps = method?.uses_steps ?? false;
      auto.el.hidden = !steps; // only the path methods take steps
      tol.disabled = !store.get("auto_steps");
    }
    if (changed.has("tol") && document.activeElement !== tol) tol.value = String(store.get("tol"));
    if (changed.has("shown") || changed.has("auto_steps")) {
      const shown = store.shown;
      const n = shown && !shown.error ? (shown.steps_taken ?? null) : null;
      taken.textContent = store.get("auto_steps") && n !== null ? `${n} steps taken` : "";
    }
  }

  return { el, update, dispose: () => disposer.dispose() };
}
