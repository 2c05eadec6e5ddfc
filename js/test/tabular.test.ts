import type { RenderProps } from "@anywidget/types";
import { afterEach, describe, expect, it } from "vitest";
import { encodeFloat32 } from "../src/core/codecs";
import widget from "../src/entries/tabular";
import type { TabularAttributionWidgetTraits, TabularResult } from "../src/traits/tabular";
import { barRows } from "../src/views/bars";
import { activity, FakeModel } from "./fake_model";

const NAMES = ["radius", "<b>x</b>", "texture", "area", "smoothness", "symmetry"];
const VALUES = [1.5, -0.25, 0.75, 2, -1, 0.125];
// |score| order: area (-3), <b>x</b> (2), radius (0.5), smoothness (-0.3), texture (0.2), symmetry (0.15)
const SCORES = [0.5, 2, 0.2, -3, -0.3, 0.15];

function tabularResult(seq: number, extra: Partial<TabularResult> = {}): TabularResult {
  const merged = {
    seq,
    method: "integrated_gradients",
    target: 1,
    baseline: "zeros",
    n_steps: 50,
    scores: encodeFloat32(new Float32Array(SCORES), [SCORES.length]),
    completeness: { delta: 1e-3, relative: 1e-3, fx: 2, fb: 1, gap: 1, min_gap_fraction: 0.01 },
    target_prob: 0.9,
    error: null,
    elapsed_ms: 4,
    ...extra,
  };
  const { method, target, baseline, n_steps } = merged;
  return { ...merged, controls: { method, target, baseline, n_steps } };
}

function tabularTraits(extra: Partial<TabularAttributionWidgetTraits> = {}): TabularAttributionWidgetTraits {
  return {
    method: "integrated_gradients",
    target: 1,
    baseline: "zeros",
    n_steps: 50,
    top_features: 3,
    sign_mode: "signed",
    outlier_percent: 0,
    feature_names: NAMES,
    feature_values: VALUES,
    labels: ["malignant", "benign"],
    num_classes: 2,
    top_k: [
      { index: 1, label: "benign", prob: 0.9 },
      { index: 0, label: "malignant", prob: 0.1 },
    ],
    options: {
      methods: [
        { value: "saliency", label: "Saliency", uses_baseline: false, baselines: [], uses_steps: false, completeness: false },
        { value: "integrated_gradients", label: "Integrated Gradients", uses_baseline: true, baselines: ["zeros", "mean"],
          uses_steps: true, completeness: true },
      ],
      baselines: [{ value: "zeros", label: "Zeros" }, { value: "mean", label: "Dataset mean" }],
      sign_modes: [{ value: "signed", label: "Signed" }, { value: "absolute", label: "Absolute" }],
    },
    compute_keys: ["baseline", "method", "n_steps", "target"],
    request_seq: 1,
    result: tabularResult(1),
    activity: activity("idle"),
    notice: "",
    export_settings: null,
    ...extra,
  };
}

function mount(model: FakeModel<TabularAttributionWidgetTraits>): HTMLElement {
  const el = document.createElement("div");
  document.body.append(el);
  widget.render({ model: model.asModel(), el, experimental: {} } as unknown as RenderProps<TabularAttributionWidgetTraits>);
  return el;
}

function rgbOf(el: HTMLElement): number[] {
  return el.style.background.match(/\d+/g)!.map(Number);
}

afterEach(() => document.body.replaceChildren());

describe("barRows", () => {
  it("sorts by |score| and folds the rest into one row that sums them exactly", () => {
    const scores = new Float32Array(SCORES);
    const rows = barRows(NAMES, VALUES, scores, 3);
    expect(rows.map((r) => r.index)).toEqual([3, 1, 0, -1]);
    const fold = rows[3];
    expect(fold.name).toBe("the other 3 features");
    expect(fold.count).toBe(3);
    expect(fold.score).toBe(scores[4] + scores[2] + scores[5]);
    // the rows add up to the total of every feature
    const total = Array.from(scores).reduce((a, b) => a + b, 0);
    expect(rows.reduce((s, r) => s + r.score, 0)).toBeCloseTo(total, 6);
    // k at least the number of features: no fold row; ties keep the column order
    expect(barRows(NAMES, VALUES, scores, 10).some((r) => r.index < 0)).toBe(false);
    expect(barRows(["a", "b"], [0, 0], [1, -1], 2).map((r) => r.index)).toEqual([0, 1]);
  });
});

describe("the bar view", () => {
  it("draws the top features by |attribution|, names as text, values beside them, and the fold row", () => {
    const el = mount(new FakeModel(tabularTraits()));
    const rows = [...el.querySelectorAll<HTMLElement>(".aw-bar-row")];
    const names = rows.map((r) => r.querySelector(".aw-bar-name")!.textContent);
    expect(names).toEqual(["area", "<b>x</b>", "radius", "the other 3 features"]);
    expect(el.querySelector(".aw-bar-name b")).toBeNull(); // the markup is text, not an element
    expect(rows.map((r) => r.querySelector(".aw-bar-value")!.textContent)).toEqual(["2", "-0.25", "1.5", ""]);
    expect(Number(rows[3].dataset.score)).toBeCloseTo(-0.3 + 0.2 + 0.15, 6);
    expect(rows[3].classList.contains("aw-bar-fold")).toBe(true);
    expect(rows.map((r) => r.querySelector(".aw-bar-score")!.textContent)).toEqual(["-3", "+2", "+0.5", "+0.05"]);
    expect(el.querySelector(".aw-bar-columns")?.textContent).toBe("featurevalueattribution");
    expect(el.querySelector(".aw-badge")?.getAttribute("data-level")).toBe("good");
    expect(el.querySelector(".aw-title")?.textContent).toBe("Integrated Gradients");
  });

  it("colours signed: negative bars blue and left of zero, positive bars red and right of it", () => {
    const el = mount(new FakeModel(tabularTraits()));
    const fills = [...el.querySelectorAll<HTMLElement>(".aw-bar-fill")];
    const [r0, , b0] = rgbOf(fills[0]); // area, -3
    const [r1, , b1] = rgbOf(fills[1]); // <b>x</b>, +2
    expect(b0).toBeGreaterThan(r0);
    expect(r1).toBeGreaterThan(b1);
    expect(fills[0].style.left).toBe("0%");
    expect(fills[0].style.width).toBe("50%"); // the longest bar fills its half
    expect(fills[1].style.left).toBe("50%");
    expect(parseFloat(fills[1].style.width)).toBeCloseTo((50 * 2) / 3, 6);
    // the bars' colours are those of the legend's scale: its extent is the largest single |score|
    expect(el.querySelector<HTMLElement>(".aw-bar-view")!.dataset.extent).toBe("3");
    expect(el.querySelector(".aw-tick")?.textContent).toBe("-3");
  });

  it("writes top_features and the method from the view, and redraws on a kernel change", () => {
    const model = new FakeModel(tabularTraits());
    const el = mount(model);
    const top = el.querySelector<HTMLInputElement>('[data-control="top_features"]')!;
    top.value = "5";
    top.dispatchEvent(new Event("change"));
    expect(model.saved).toEqual([{ top_features: 5 }]);
    expect(el.querySelectorAll(".aw-bar-row")).toHaveLength(6);
    expect(el.querySelector(".aw-bar-fold .aw-bar-name")?.textContent).toBe("the other feature");
    const method = el.querySelector<HTMLSelectElement>('[data-control="method"]')!;
    method.value = "saliency";
    method.dispatchEvent(new Event("change"));
    expect(model.saved[1]).toEqual({ method: "saliency" });
    expect(el.querySelector<HTMLElement>(".aw-root")!.dataset.busy).toBe("true");
    model.kernelSet("sign_mode", "absolute");
    const fills = [...el.querySelectorAll<HTMLElement>(".aw-bar-fill")];
    expect(fills.every((f) => f.style.left === "0%")).toBe(true);
  });
});
