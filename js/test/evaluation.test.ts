import type { RenderProps } from "@anywidget/types";
import { afterEach, describe, expect, it } from "vitest";
import widget from "../src/entries/attribution";
import type { AttributionWidgetTraits, CurveFigure, Evaluation, EvaluationFigures } from "../src/traits/attribution";
import { linearScale, logScale } from "../src/views/evaluation/charts";
import { nearestPoint, replacedAt } from "../src/views/evaluation/curves";
import { figuresCurrent } from "../src/views/evaluation/panel";
import { FakeModel, heatmap, result, traits } from "./fake_model";

// The 2×2 heatmap of fake_model's result is [1, -2, 0.5, 0]: attribution order (descending, ties by position) 0, 2, 3, 1.
function curve(name: "deletion" | "insertion"): CurveFigure {
  return {
    name,
    score: "probability",
    baseline: name === "deletion" ? "zeros" : "blur",
    fractions: [0, 0.25, 0.5, 0.75, 1],
    counts: [0, 1, 2, 3, 4],
    scores: name === "deletion" ? [0.9, 0.5, 0.3, 0.2, 0.1] : [0.1, 0.4, 0.7, 0.8, 0.9],
    auc: name === "deletion" ? 0.35 : 0.6,
    random_scores: [0.9, 0.8, 0.6, 0.4, 0.1],
    random_auc: 0.6,
    order: [0, 2, 3, 1],
    better: name === "deletion" ? "lower" : "higher",
  };
}

function evaluation(extra: Partial<Evaluation> = {}): Evaluation {
  return { state: "idle", what: ["deletion", "insertion"], done: 2, total: 2, elapsed_ms: 10, message: "", error: null, ...extra };
}

function known(figures?: EvaluationFigures["figures"], controls?: Record<string, unknown>): EvaluationFigures {
  return {
    controls: controls ?? result(1).controls,
    figures: figures ?? { deletion: curve("deletion"), insertion: curve("insertion") },
  };
}

const withCurves = () => traits({ evaluation: evaluation(), evaluation_figures: known() });

function mount(model: FakeModel): HTMLElement {
  const el = document.createElement("div");
  document.body.append(el);
  widget.render({ model: model.asModel(), el, experimental: {} } as unknown as RenderProps<AttributionWidgetTraits>);
  return el;
}

afterEach(() => document.body.replaceChildren());

describe("curve ↔ map linking", () => {
  it("deletion replaces the first count pixels of the order, insertion the ones not inserted yet", () => {
    expect(replacedAt(curve("deletion"), 0)).toEqual([]);
    expect(replacedAt(curve("deletion"), 2)).toEqual([0, 2]);
    expect(replacedAt(curve("insertion"), 1)).toEqual([2, 3, 1]);
    expect(replacedAt(curve("insertion"), 4)).toEqual([]);
  });

  it("picks the nearest point", () => {
    expect(nearestPoint([0, 0.25, 0.5], 0.3)).toBe(1);
    expect(nearestPoint([0, 0.25, 0.5], 0.9)).toBe(2);
  });

  it("hovering a curve point marks those pixels on the heatmap, leaving clears it", () => {
    const el = mount(new FakeModel(withCurves()));
    const map = el.querySelector<HTMLElement>(".aw-heatmap")!;
    const chart = el.querySelector<SVGSVGElement>('[data-chart="deletion"]')!;
    expect(map.dataset.masked ?? "0").toBe("0");
    chart.querySelector('[data-point="3"]')!.dispatchEvent(new Event("pointerenter"));
    expect(map.dataset.masked).toBe("3");
    expect(chart.dataset.hovered).toBe("3");
    expect(el.querySelector('[data-figure="deletion"] .aw-eval-readout')!.textContent).toContain("75 % removed (3 px): p = 0.200");
    chart.dispatchEvent(new Event("pointerleave"));
    expect(map.dataset.masked).toBe("0");
  });
});

describe("evaluation panel", () => {
  it("opening the section asks for the curves; buttons and cancel send their messages", () => {
    const model = new FakeModel(traits());
    const el = mount(model);
    const details = el.querySelector<HTMLDetailsElement>(".aw-eval")!;
    details.open = true;
    details.dispatchEvent(new Event("toggle"));
    expect(model.sent).toContainEqual({ type: "evaluate", what: ["deletion", "insertion"] });
    el.querySelector<HTMLButtonElement>('[data-job="sanity"]')!.click();
    expect(model.sent).toContainEqual({ type: "evaluate", what: ["sanity"] });
    model.kernelSet("evaluation", evaluation({ state: "computing", done: 0.5, total: 1, message: "computing sanity…" }));
    const cancel = el.querySelector<HTMLButtonElement>('[data-control="evaluate-cancel"]')!;
    expect(cancel.hidden).toBe(false);
    expect(el.querySelector(".aw-eval-status")!.textContent).toBe("computing sanity… 50 %");
    expect(el.querySelector<HTMLButtonElement>('[data-job="all"]')!.disabled).toBe(true);
    cancel.click();
    expect(model.sent).toContainEqual({ type: "evaluate_cancel" });
  });

  it("figures computed from Python open the section once; a closed section with none stays closed", () => {
    const closed = mount(new FakeModel(traits()));
    expect(closed.querySelector<HTMLDetailsElement>(".aw-eval")!.open).toBe(false);
    const model = new FakeModel(traits());
    const el = mount(model);
    const details = el.querySelector<HTMLDetailsElement>(".aw-eval")!;
    model.kernelSet("evaluation_figures", known());
    expect(details.open).toBe(true);
    expect(model.sent).toEqual([]); // the figures are there: opening asks for nothing
    details.open = false; // the user closes it: new figures do not reopen it
    model.kernelSet("evaluation_figures", known({ deletion: curve("deletion") }));
    expect(details.open).toBe(false);
  });

  it("shows AUCs against the random order, and greys figures for other settings", () => {
    const model = new FakeModel(withCurves());
    const el = mount(model);
    const auc = el.querySelector<HTMLElement>('[data-figure="deletion"] .aw-eval-auc')!;
    expect(auc.textContent).toBe("AUC 0.350 · random 0.600 (lower is better)");
    expect(auc.classList.contains("aw-eval-good")).toBe(true);
    expect(el.querySelector<HTMLElement>(".aw-eval-stale-note")!.hidden).toBe(true);
    model.kernelSet("evaluation_figures", known(undefined, { ...result(1).controls, method: "saliency" }));
    expect(el.querySelector<HTMLElement>(".aw-eval-stale-note")!.hidden).toBe(false);
    expect(el.querySelector(".aw-eval-grid-cards")!.classList.contains("aw-stale")).toBe(true);
  });

  it("a slow figure shows progress while the figures already done stay drawn", () => {
    const model = new FakeModel(withCurves());
    const el = mount(model);
    model.kernelSet("evaluation", evaluation({ state: "computing", what: ["sanity"], done: 0.25, total: 1, message: "computing sanity…" }));
    expect(el.querySelector<HTMLElement>(".aw-eval-progress")!.hidden).toBe(false);
    expect(el.querySelector<HTMLElement>(".aw-eval-bar-fill")!.style.width).toBe("25%");
    expect(el.querySelectorAll(".aw-eval-card")).toHaveLength(2);
    model.kernelSet("evaluation", evaluation({ state: "cancelled", what: ["sanity"], done: 0, total: 1 }));
    expect(el.querySelector(".aw-eval-status")!.textContent).toBe("cancelled");
    expect(el.querySelectorAll(".aw-eval-card")).toHaveLength(2);
  });

  it("draws convergence with the current setting marked, the sanity flag and the axiom table", () => {
    const figures: EvaluationFigures["figures"] = {
      convergence: {
        applicable: true,
        rules: { gausslegendre: { n_steps: [2, 8, 32], delta: [0.1, 0.01, 1e-4], relative_delta: [1, 0.1, 1e-3] } },
        current: { rule: "gausslegendre", n_steps: 50 },
      },
      sanity: { layers: ["fc", "conv"], spearman: [0.9, 0.8], spearman_abs: [0.95, 0.9], maps: [heatmap([1, 0, 0, 1], 2, 2), heatmap([0, 1, 1, 0], 2, 2)], survives: true, threshold: 0.5 },
      axioms: {
        method: "integrated_gradients",
        source: "Hesse et al. 2021",
        rows: [
          { axiom: "completeness", passed: true, measured: 0.002, tolerance: 0.01, measure: "m", detail: "", theory: true },
          { axiom: "linearity", passed: false, measured: 0.3, tolerance: 0.01, measure: "m", detail: "", theory: true },
        ],
      },
      infidelity: { value: 0.0123, meaning: "lower is better" },
    };
    const el = mount(new FakeModel(traits({ evaluation: evaluation(), evaluation_figures: known(figures) })));
    const mark = el.querySelector('[data-chart="convergence"] [data-mark="current"]')!;
    expect(mark.querySelector("title")!.textContent).toContain("n_steps = 50 (nearest measured: 32)");
    expect(el.querySelectorAll('[data-chart="convergence"] .aw-eval-line')).toHaveLength(1);
    expect(el.querySelector('[data-figure="sanity"] [data-survives]')!.getAttribute("data-survives")).toBe("true");
    expect(el.querySelectorAll('[data-figure="sanity"] .aw-eval-thumb')).toHaveLength(3); // original + 2 layers
    const rows = [...el.querySelectorAll('[data-figure="axioms"] tbody tr')].map((r) => [r.getAttribute("data-verdict"), r.lastElementChild!.textContent]);
    expect(rows).toEqual([["pass", "agrees"], ["fail", "differs"]]);
    expect(el.querySelector('[data-number="infidelity"] .aw-eval-number-value')!.textContent).toBe("0.0123");
    expect(el.querySelector<HTMLElement>('[data-number="sensitivity"]')!.hidden).toBe(true);
  });

  it("figuresCurrent compares every control", () => {
    const { controls } = result(1);
    expect(figuresCurrent(known(), controls)).toBe(true);
    expect(figuresCurrent(known(), { ...controls, n_steps: 51 })).toBe(false);
    expect(figuresCurrent({}, controls)).toBe(false);
  });
});

describe("scales", () => {
  it("log scale maps decades evenly; linear ticks are round", () => {
    const s = logScale(1e-4, 1, 0, 100);
    expect(s(1e-4)).toBeCloseTo(0);
    expect(s(1e-2)).toBeCloseTo(50);
    expect(s(1)).toBeCloseTo(100);
    expect(s.ticks).toEqual([1e-4, 1e-3, 1e-2, 1e-1, 1]);
    expect(logScale(1e-9, 1, 0, 100).ticks).toEqual([1e-9, 1e-6, 1e-3, 1]); // at most five labels
    expect(linearScale(0, 1, 0, 10).ticks).toEqual([0, 0.5, 1]);
    expect(linearScale(-1, 1, 0, 10).ticks).toEqual([-1, -0.5, 0, 0.5, 1]);
  });
});
