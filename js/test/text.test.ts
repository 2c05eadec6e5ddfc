import type { RenderProps } from "@anywidget/types";
import { afterEach, describe, expect, it } from "vitest";
import { encodeFloat32 } from "../src/core/codecs";
import { textUnits } from "../src/core/units";
import widget from "../src/entries/text";
import type { TextAttributionWidgetTraits, TextResult, Token } from "../src/traits/text";
import { activity, FakeModel } from "./fake_model";

const TOKENS: Token[] = [
  { text: "[CLS]", special: true, word: 0, space: false },
  { text: "un", special: false, word: 1_000_000, space: false },
  { text: "believ", special: false, word: 1_000_000, space: false },
  { text: "ably", special: false, word: 1_000_000, space: false },
  { text: "<img src=x onerror=alert(1)>", special: false, word: 1_000_001, space: true },
  { text: "dull", special: false, word: 1_000_002, space: true },
  { text: "[SEP]", special: true, word: 2, space: false },
];
const SCORES = [0.5, 1, -0.25, 0.5, -2, 0.75, 0.1];

function textResult(seq: number, extra: Partial<TextResult> = {}): TextResult {
  const merged = {
    seq,
    method: "layer_integrated_gradients",
    target: 1,
    baseline: "pad",
    n_steps: 32,
    auto_steps: false,
    tol: 0.01,
    example: 0,
    steps_taken: 32,
    scores: encodeFloat32(new Float32Array(SCORES), [SCORES.length]),
    erasure: null,
    completeness: { delta: 1e-3, relative: 1e-3, fx: 2, fb: 1, gap: 1, min_gap_fraction: 0.01 },
    target_prob: 0.8,
    error: null,
    elapsed_ms: 5,
    ...extra,
  };
  const { method, target, baseline, n_steps, example, auto_steps, tol } = merged;
  return { ...merged, controls: { method, target, baseline, n_steps, example, erasure: false, auto_steps, tol } };
}

function textTraits(extra: Partial<TextAttributionWidgetTraits> = {}): TextAttributionWidgetTraits {
  return {
    method: "layer_integrated_gradients",
    target: 1,
    baseline: "pad",
    n_steps: 32,
    example: 0,
    erasure: false,
    auto_steps: false,
    tol: 0.01,
    next_token: false,
    words: false,
    show_special: false,
    pinned: -1,
    sign_mode: "signed",
    outlier_percent: 0,
    tokens: TOKENS,
    examples: ["unbelievably dull", "a second text"],
    truncated_from: 0,
    words_available: true,
    labels: ["negative", "positive"],
    num_classes: 2,
    top_k: [
      { index: 1, label: "positive", prob: 0.8 },
      { index: 0, label: "negative", prob: 0.2 },
    ],
    options: {
      methods: [
        { value: "layer_integrated_gradients", label: "Integrated Gradients (embeddings)", uses_baseline: true,
          baselines: ["pad", "mask"], uses_steps: true, completeness: true, reduction: "summed over the embedding dimension" },
        { value: "attention", label: "Attention", uses_baseline: false, baselines: [], uses_steps: false, completeness: false },
      ],
      baselines: [{ value: "pad", label: "[PAD] tokens" }, { value: "mask", label: "[MASK] tokens" }],
      sign_modes: [{ value: "signed", label: "Signed" }, { value: "absolute", label: "Absolute" }],
    },
    compute_keys: ["auto_steps", "baseline", "erasure", "example", "method", "n_steps", "target", "tol"],
    request_seq: 1,
    result: textResult(1),
    activity: activity("idle"),
    notice: "",
    export_settings: null,
    ...extra,
  };
}

function mount(model: FakeModel<TextAttributionWidgetTraits>): HTMLElement {
  const el = document.createElement("div");
  document.body.append(el);
  widget.render({ model: model.asModel(), el, experimental: {} } as unknown as RenderProps<TextAttributionWidgetTraits>);
  return el;
}

afterEach(() => document.body.replaceChildren());

describe("textUnits", () => {
  it("hides special tokens, and in word mode joins pieces summing their scores exactly", () => {
    const scores = new Float32Array(SCORES);
    expect(textUnits(TOKENS, scores, false, false).map((u) => u.text)).toEqual(["un", "believ", "ably", "<img src=x onerror=alert(1)>", "dull"]);
    const words = textUnits(TOKENS, scores, true, true);
    expect(words.map((u) => u.text)).toEqual(["[CLS]", "unbelievably", "<img src=x onerror=alert(1)>", "dull", "[SEP]"]);
    expect(words[1].score).toBe(scores[1] + scores[2] + scores[3]);
    expect(words[1].tokens).toEqual([1, 2, 3]);
    const total = words.reduce((s, u) => s + u.score, 0);
    expect(total).toBeCloseTo(SCORES.reduce((a, b) => a + b, 0), 6);
  });
});

describe("the token view", () => {
  it("draws tokens as text, never as HTML, with colours centred at zero", () => {
    const el = mount(new FakeModel(textTraits()));
    const spans = [...el.querySelectorAll<HTMLElement>(".aw-tok")];
    expect(spans.map((s) => s.textContent)).toEqual(["un", "believ", "ably", "<img src=x onerror=alert(1)>", "dull"]);
    expect(el.querySelector("img")).toBeNull();
    // the most negative token carries the darkest blue and light text; positive ones are red
    const strongest = spans[3];
    expect(strongest.style.background).toMatch(/^rgb\(/);
    expect(strongest.style.color).toBe("rgb(255, 255, 255)");
    const [r, , b] = spans[0].style.background.match(/\d+/g)!.map(Number);
    expect(r).toBeGreaterThan(b);
    expect(el.querySelector(".aw-legend-caption")?.textContent).toContain("summed over the embedding dimension");
  });

  it("merges words, shows special tokens, pins a token and reads it out", () => {
    const model = new FakeModel(textTraits());
    const el = mount(model);
    model.kernelSet("words", true);
    model.kernelSet("show_special", true);
    const texts = [...el.querySelectorAll(".aw-tok")].map((s) => s.textContent);
    expect(texts).toEqual(["[CLS]", "unbelievably", "<img src=x onerror=alert(1)>", "dull", "[SEP]"]);
    el.querySelectorAll<HTMLElement>(".aw-tok")[1].click();
    expect(model.saved).toEqual([{ pinned: 1 }]);
    expect(el.querySelector(".aw-tok-pinned")?.textContent).toBe("unbelievably");
    expect(el.querySelector(".aw-readout")?.textContent).toContain("“unbelievably”   attribution +1.25");
    el.querySelector<HTMLInputElement>('[data-control="words"]')!.click();
    expect(model.saved[1]).toEqual({ words: false });
  });

  it("does not draw a result for another example over these tokens, and switches example", () => {
    const model = new FakeModel(textTraits());
    const el = mount(model);
    const select = el.querySelector<HTMLSelectElement>('[data-control="example"]')!;
    select.value = "1";
    select.dispatchEvent(new Event("change"));
    expect(model.saved).toEqual([{ example: 1 }]);
    expect(el.querySelector<HTMLElement>(".aw-root")!.dataset.busy).toBe("true");
    expect(el.querySelector<HTMLElement>(".aw-tok")!.style.background).toBe("");
  });
});

describe("auto steps", () => {
  it("is offered for the path methods, sends its tolerance and says how many steps the result took", () => {
    const model = new FakeModel(textTraits());
    const el = mount(model);
    const toggle = el.querySelector<HTMLInputElement>('[data-control="auto_steps"]')!;
    const tol = el.querySelector<HTMLInputElement>('[data-control="tol"]')!;
    expect(toggle.closest("label")!.hidden).toBe(false);
    expect(tol.disabled).toBe(true);
    toggle.click();
    expect(model.saved).toEqual([{ auto_steps: true }]);
    expect(tol.disabled).toBe(false);
    tol.value = "0.001";
    tol.dispatchEvent(new Event("change"));
    expect(model.saved[1]).toEqual({ tol: 0.001 });
    const controls = { auto_steps: true, tol: 0.001 };
    model.kernelSet("result", textResult(2, { ...controls, steps_taken: 12 }));
    expect(el.querySelector('[data-role="steps-taken"]')?.textContent).toBe("12 steps taken");
    model.kernelSet("method", "attention");
    expect(toggle.closest("label")!.hidden).toBe(true);
  });
});

describe("the erasure panel", () => {
  it("is hidden until asked for, then lists each ranking with 'never flips' where it does not", () => {
    const model = new FakeModel(textTraits());
    const el = mount(model);
    const panel = el.querySelector<HTMLElement>(".aw-erasure")!;
    expect(panel.hidden).toBe(true);
    el.querySelector<HTMLInputElement>('[data-control="erasure"]')!.click();
    expect(model.saved).toEqual([{ erasure: true }]);
    const erasure = {
      decision: 1,
      erasable: 5,
      rankings: [
        { name: "attention", label: "attention", flipped: true, removed: 3, fraction: 0.6, js: 0.31, js_top: 0.01 },
        { name: "integrated_gradients", label: "Integrated Gradients", flipped: true, removed: 1, fraction: 0.2, js: 0.4, js_top: 0.4 },
        { name: "random", label: "random order", flipped: false, removed: 5, fraction: null, js: 0.2, js_top: 0.0 },
      ],
      flip_table: null,
    };
    const { controls } = textResult(2);
    model.kernelSet("result", { ...textResult(2, { erasure }), controls: { ...controls, erasure: true } });
    expect(panel.hidden).toBe(false);
    expect(panel.querySelector<HTMLElement>(".aw-flips")!.hidden).toBe(true); // one text: no 2×2 table
    const rows = [...panel.querySelectorAll(".aw-erasure-table:not(.aw-flip-table) tbody tr")].map((r) =>
      [...r.children].map((c) => c.textContent),
    );
    expect(rows).toEqual([
      ["attention", "3 of 5 (60 %)", "0.310", "0.010"],
      ["Integrated Gradients", "1 of 5 (20 %)", "0.400", "0.400"],
      ["random order", "never flips", "0.200", "0.000"],
    ]);
    expect(panel.querySelector(".aw-erasure-best")?.getAttribute("data-ranking")).toBe("integrated_gradients");
    expect(panel.textContent).toContain("“positive”");
    const flip_table = { texts: 4, ranking: "attention", both: 1, top_only: 2, random_only: 0, neither: 1 };
    model.kernelSet("result", { ...textResult(3, { erasure: { ...erasure, flip_table } }), controls: { ...controls, erasure: true } });
    const flips = panel.querySelector<HTMLElement>(".aw-flips")!;
    expect(flips.hidden).toBe(false);
    expect(flips.textContent).toContain("Over the 4 texts");
    const cells = [...flips.querySelectorAll("tbody tr")].map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent));
    expect(cells).toEqual([["1 (25 %)", "2 (50 %)"], ["0 (0 %)", "1 (25 %)"]]);
  });
});
