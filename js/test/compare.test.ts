import type { RenderProps } from "@anywidget/types";
import { afterEach, describe, expect, it } from "vitest";
import { encodeFloat32 } from "../src/core/codecs";
import { scaleExtent, sharedExtent } from "../src/core/colorscale";
import widget from "../src/entries/compare";
import type { CompareResult, CompareWidgetTraits, MethodStates } from "../src/traits/compare";
import { cellColour } from "../src/views/compare/agreement";
import { difference } from "../src/views/compare/pair";
import { activity, FakeModel, rgba } from "./fake_model";

// Three 2×2 maps with different magnitudes: one shared scale makes "c" faint; own scales do not.
const MAPS: Record<string, number[]> = { a: [1, -2, 0.5, 0], b: [4, 1, -1, 0.25], c: [0.1, 0.2, -0.05, 0] };
const METHODS = ["a", "b", "c"];

function maps(names: string[]): CompareResult["maps"] {
  return Object.fromEntries(names.map((n) => [n, encodeFloat32(new Float32Array(MAPS[n]), [2, 2])]));
}

function compareResult(seq: number, done: string[], extra: Partial<CompareResult> = {}): CompareResult {
  const merged = {
    seq,
    target: 1,
    baseline: "zeros",
    n_steps: 50,
    maps: maps(done),
    finished: done,
    errors: {},
    method_ms: Object.fromEntries(done.map((n) => [n, 12])),
    complete: done.length === METHODS.length,
    target_prob: 0.9,
    error: null,
    elapsed_ms: 30,
    ...extra,
  };
  const { target, baseline, n_steps } = merged;
  return { ...merged, controls: { target, baseline, n_steps } };
}

function states(seq: number, byMethod: Record<string, [string, number, number]>): MethodStates {
  return {
    seq,
    states: Object.fromEntries(
      Object.entries(byMethod).map(([m, [state, done, total]]) => [
        m,
        { state: state as MethodStates["states"][string]["state"], done, total, elapsed_ms: 0, error: null },
      ]),
    ),
  };
}

function compareTraits(extra: Partial<CompareWidgetTraits> = {}): CompareWidgetTraits {
  const choice = (value: string) => ({
    value,
    label: `Method ${value.toUpperCase()}`,
    short: value.toUpperCase(),
    uses_baseline: value !== "a",
    baselines: ["zeros"],
    uses_steps: value === "b",
    completeness: false,
  });
  return {
    target: 1,
    baseline: "zeros",
    n_steps: 50,
    shared_scale: true,
    k: 2,
    sign_mode: "signed",
    outlier_percent: 0,
    opacity: 0.85,
    canvas_size: 150,
    kind: "image",
    image: rgba(2, 2),
    feature_names: [],
    feature_values: [],
    labels: ["cat", "dog", "fox"],
    num_classes: 3,
    top_k: [
      { index: 1, label: "dog", prob: 0.9 },
      { index: 0, label: "cat", prob: 0.1 },
    ],
    options: {
      methods: METHODS.map(choice),
      baselines: [{ value: "zeros", label: "Zeros" }],
      sign_modes: [{ value: "signed", label: "Signed" }],
    },
    method_states: states(1, { a: ["done", 1, 1], b: ["done", 1, 1], c: ["done", 1, 1] }),
    evaluation: {},
    evaluation_figures: {},
    agreement_state: {
      seq: 1,
      methods: METHODS,
      spearman: [
        [1, 0.5, -0.25],
        [0.5, 1, null],
        [-0.25, null, 1],
      ],
      topk: [
        [1, 0.5, 0],
        [0.5, 1, 1],
        [0, 1, 1],
      ],
      k: 2,
    },
    compute_keys: ["baseline", "n_steps", "target"],
    request_seq: 1,
    result: compareResult(1, METHODS),
    activity: activity("idle"),
    notice: "",
    export_settings: null,
    ...extra,
  };
}

function mount(model: FakeModel<CompareWidgetTraits>): HTMLElement {
  const el = document.createElement("div");
  document.body.append(el);
  const props = { model: model.asModel(), el, experimental: {} } as unknown as RenderProps<CompareWidgetTraits>;
  widget.render(props);
  return el;
}

function panels(el: HTMLElement): HTMLElement[] {
  return [...el.querySelectorAll<HTMLElement>(".aw-cmp-grid .aw-cmp-panel")];
}

/** jsdom lays nothing out: give every canvas a 100×100 box at the origin so pointer positions map to pixels. */
function layOut(el: HTMLElement): void {
  for (const canvas of el.querySelectorAll("canvas")) {
    canvas.getBoundingClientRect = () => ({ left: 0, top: 0, width: 100, height: 100, right: 100, bottom: 100, x: 0, y: 0, toJSON: () => ({}) });
  }
}

afterEach(() => document.body.replaceChildren());

describe("compare widget", () => {
  it("draws one panel per method, all on the extent shared by the maps", () => {
    const el = mount(new FakeModel(compareTraits()));
    expect(panels(el).map((p) => p.dataset.method)).toEqual(METHODS);
    const shared = sharedExtent(METHODS.map((m) => new Float32Array(MAPS[m])), "signed", 0);
    expect(shared).toBe(4);
    expect(panels(el).map((p) => Number(p.dataset.extent))).toEqual([4, 4, 4]);
    expect(panels(el).every((p) => p.dataset.state === "done")).toBe(true);
    expect([...el.querySelectorAll(".aw-legend .aw-tick")].map((t) => t.textContent)).toEqual(["-4", "-2", "0", "+2", "+4"]);
    expect(el.querySelector(".aw-title")?.textContent).toBe("3 methods side by side");
  });

  it("gives each map its own extent when the scale is not shared, and the legend says so", () => {
    const model = new FakeModel(compareTraits());
    const el = mount(model);
    el.querySelector<HTMLInputElement>('[data-control="shared_scale"]')!.click();
    expect(model.saved).toEqual([{ shared_scale: false }]);
    const own = METHODS.map((m) => scaleExtent(new Float32Array(MAPS[m]), "signed", 0));
    expect(panels(el).map((p) => Number(p.dataset.extent))).toEqual(own);
    expect([...el.querySelectorAll(".aw-legend .aw-tick")].map((t) => t.textContent)[4]).toBe("+100 %");
    expect(el.querySelector(".aw-legend-caption")?.textContent).toContain("each map on its own scale");
  });

  it("shows finished maps while a slow one computes, and its progress", () => {
    const model = new FakeModel(compareTraits());
    const el = mount(model);
    el.querySelector<HTMLButtonElement>('.aw-target[data-index="0"]')!.click(); // a new target: request 2
    expect(panels(el).every((p) => p.dataset.state !== "done")).toBe(true); // the old maps are not current
    model.kernelSet("request_seq", 2);
    model.kernelSet("activity", activity("computing", 2, 1, 3));
    model.kernelSet("method_states", states(2, { a: ["done", 1, 1], b: ["computing", 3, 12], c: ["queued", 0, 0] }));
    model.kernelSet("result", compareResult(2, ["a"], { target: 0 }));
    const [a, b, c] = panels(el);
    expect([a.dataset.state, b.dataset.state, c.dataset.state]).toEqual(["done", "computing", "queued"]);
    expect(b.querySelector(".aw-cmp-chip")?.textContent).toBe("computing 25 %");
    expect(b.querySelector<HTMLElement>(".aw-progress")!.hidden).toBe(false);
    expect(b.querySelector<HTMLElement>(".aw-progress-fill")!.style.width).toBe("25%");
    expect(b.querySelector(".aw-frame")!.classList.contains("aw-stale")).toBe(true);
    expect(a.querySelector(".aw-frame")!.classList.contains("aw-stale")).toBe(false);
    // The scale is taken over the maps of the result on screen: only "a" so far.
    expect(Number(a.dataset.extent)).toBe(2);
    expect(el.querySelector(".aw-footer")?.textContent).toContain("1 of 3 maps so far");
  });

  it("keeps the maps of earlier partial results of the same request (each sends only its new map)", () => {
    const model = new FakeModel(compareTraits());
    const el = mount(model);
    el.querySelector<HTMLButtonElement>('.aw-target[data-index="0"]')!.click();
    model.kernelSet("request_seq", 2);
    model.kernelSet("activity", activity("computing", 2, 1, 3));
    model.kernelSet("result", compareResult(2, ["a"], { target: 0 }));
    model.kernelSet("result", { ...compareResult(2, ["b"], { target: 0 }), finished: ["a", "b"] });
    expect(panels(el).map((p) => p.dataset.state)).toEqual(["done", "done", "queued"]);
    // The shared extent covers both maps of this request, though the last message carried only "b".
    expect(Number(panels(el)[0].dataset.extent)).toBe(4);
    // A map kept from request 1 is not one of request 2's.
    model.kernelSet("result", { ...compareResult(3, [], { target: 0 }), finished: ["c"] });
    expect(panels(el)[2].dataset.state).not.toBe("done");
  });

  it("never shows a partial result for controls the view has left", () => {
    const model = new FakeModel(compareTraits());
    const el = mount(model);
    el.querySelector<HTMLButtonElement>('.aw-target[data-index="0"]')!.click();
    model.kernelSet("result", compareResult(2, ["a"], { target: 1 })); // answers the old target
    expect(el.querySelector<HTMLElement>(".aw-root")!.dataset.seq).toBe("1");
    expect(panels(el).every((p) => p.dataset.state !== "done")).toBe(true);
  });

  it("marks the hovered pixel in every map and reads each method's value there", () => {
    const el = mount(new FakeModel(compareTraits()));
    layOut(el);
    const canvas = panels(el)[1].querySelector("canvas")!;
    canvas.dispatchEvent(new MouseEvent("pointermove", { clientX: 75, clientY: 25 })); // pixel (1, 0)
    const marks = panels(el).map((p) => p.querySelector<HTMLElement>(".aw-pixel-mark")!);
    expect(marks.every((m) => !m.hidden && m.dataset.x === "1" && m.dataset.y === "0")).toBe(true);
    const values = [...el.querySelectorAll(".aw-cmp-readout-value")].map((v) => v.textContent);
    expect(values).toEqual(["-2", "+1", "+0.2"]);
    canvas.dispatchEvent(new MouseEvent("pointerleave"));
    expect(marks.every((m) => m.hidden)).toBe(true);
  });

  it("draws the kernel's agreement and opens a pair with its difference on a click", () => {
    const model = new FakeModel(compareTraits());
    const el = mount(model);
    const cells = [...el.querySelectorAll<HTMLElement>(".aw-cmp-matrix td")];
    expect(cells.map((c) => c.textContent)).toEqual(["1.00", "0.50", "-0.25", "0.50", "1.00", "—", "-0.25", "—", "1.00"]);
    // A negative correlation is blue, a positive one red; stronger agreement is more opaque; none is blank.
    const rgba = (v: number | null) => cellColour(v).match(/[\d.]+/g)!.map(Number);
    expect(rgba(-0.25)[2]).toBeGreaterThan(rgba(-0.25)[0]);
    expect(rgba(0.5)[0]).toBeGreaterThan(rgba(0.5)[2]);
    expect(rgba(0.9)[3]).toBeGreaterThan(rgba(0.1)[3]);
    expect(cellColour(null)).toBe("transparent");
    expect(cells[5].style.background).toBe("transparent");
    el.querySelector<HTMLButtonElement>('[data-control="agreement_metric"] [data-value="topk"]')!.click();
    expect([...el.querySelectorAll(".aw-cmp-matrix td")].map((c) => c.textContent)[2]).toBe("0.00");
    const k = el.querySelector<HTMLInputElement>('[data-control="k"]')!;
    k.value = "3";
    k.dispatchEvent(new Event("change"));
    expect(model.saved).toEqual([{ k: 3 }]);
    const pair = el.querySelector<HTMLElement>(".aw-cmp-pair")!;
    expect(pair.hidden).toBe(true);
    el.querySelector<HTMLElement>('.aw-cmp-matrix td[data-row="a"][data-col="a"]')!.click();
    expect(pair.hidden).toBe(true); // the diagonal compares a map with itself
    el.querySelector<HTMLElement>('.aw-cmp-matrix td[data-row="a"][data-col="b"]')!.click();
    expect(pair.hidden).toBe(false);
    expect([...pair.querySelectorAll(".aw-cmp-label")].map((l) => l.textContent)).toEqual(["A: Method A", "B: Method B", "A − B"]);
    expect(Number(pair.querySelector<HTMLElement>('[data-part="difference"]')!.dataset.extent)).toBe(4);
    pair.querySelector<HTMLButtonElement>('[data-control="close-pair"]')!.click();
    expect(pair.hidden).toBe(true);
    const cell = el.querySelector<HTMLElement>('.aw-cmp-matrix td[data-row="c"][data-col="a"]')!;
    expect(cell.tabIndex).toBe(0);
    cell.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(pair.hidden).toBe(false);
    expect(pair.querySelector(".aw-cmp-label")?.textContent).toBe("A: Method C");
  });

  it("shows a method's error in its panel while the others stay", () => {
    const model = new FakeModel(compareTraits({ result: compareResult(1, ["a", "b"], { errors: { c: "ValueError: window too big" } }) }));
    const el = mount(model);
    const c = panels(el)[2];
    expect(c.dataset.state).toBe("error");
    expect(c.querySelector(".aw-cmp-error")?.textContent).toBe("ValueError: window too big");
    expect(panels(el)[0].dataset.state).toBe("done");
  });
});

describe("compare widget on a row of features", () => {
  it("draws each map as bars on the shared extent, and links hover by feature", () => {
    const rowMaps = (names: string[]) =>
      Object.fromEntries(names.map((n) => [n, encodeFloat32(new Float32Array(MAPS[n]), [4])]));
    const model = new FakeModel(
      compareTraits({
        kind: "tabular",
        image: null,
        feature_names: ["age", "bmi", "<b>x</b>", "bp"],
        feature_values: [50, 22.5, 1, 120],
        result: { ...compareResult(1, METHODS), maps: rowMaps(METHODS) },
      }),
    );
    const el = mount(model);
    const lists = panels(el).map((p) => p.querySelector<HTMLElement>(".aw-cmp-bars")!);
    expect(lists.every((l) => l !== null)).toBe(true);
    expect(el.querySelector(".aw-cmp-grid canvas")).toBeNull();
    // Map "b" = [4, 1, -1, 0.25]: age first; its bar spans the whole half track on the shared extent 4.
    const first = lists[1].querySelector<HTMLElement>(".aw-bar-row")!;
    expect(first.dataset.feature).toBe("0");
    expect(first.querySelector<HTMLElement>(".aw-bar-fill")!.style.width).toBe("50%");
    // Map "c" is small: on the shared scale its longest bar is short (0.2 / 4 of the half track).
    expect(parseFloat(lists[2].querySelector<HTMLElement>(".aw-bar-fill")!.style.width)).toBeCloseTo(2.5, 5);
    expect(lists[0].querySelector(".aw-bar-name")?.textContent).toBe("bmi"); // map "a": |-2| is largest
    expect([...lists[0].querySelectorAll(".aw-bar-name")].map((n) => n.textContent)).toContain("<b>x</b>");
    const bmi = lists[0].querySelector<HTMLElement>('[data-feature="1"] .aw-bar-name')!;
    bmi.dispatchEvent(new MouseEvent("pointermove", { bubbles: true }));
    for (const list of lists) {
      const marked = [...list.querySelectorAll<HTMLElement>(".aw-bar-row.aw-hover")].map((r) => r.dataset.feature);
      expect(marked).toEqual(["1"]);
    }
    expect(el.querySelector(".aw-cmp-readout-title")?.textContent).toBe("feature bmi = 22.5");
    expect([...el.querySelectorAll(".aw-cmp-readout-value")].map((v) => v.textContent)).toEqual(["-2", "+1", "+0.2"]);
    el.querySelector<HTMLElement>('.aw-cmp-matrix td[data-row="a"][data-col="b"]')!.click();
    const pair = el.querySelector<HTMLElement>(".aw-cmp-pair")!;
    expect(pair.hidden).toBe(false);
    const diffRows = pair.querySelectorAll('[data-part="difference"] .aw-bar-row');
    expect(diffRows.length).toBe(4); // A − B = [-3, -3, 1.5, -0.25]
    expect(pair.querySelector('[data-part="difference"] .aw-bar-row .aw-bar-score')?.textContent).toBe("-3");
  });
});

describe("difference", () => {
  it("subtracts element by element and refuses maps of different sizes", () => {
    expect([...difference(new Float32Array([1, 2]), new Float32Array([0.5, 3]))]).toEqual([0.5, -1]);
    expect(() => difference(new Float32Array(2), new Float32Array(3))).toThrow("different sizes");
  });
});

describe("compare widget: Evaluate every method", () => {
  const curve = (name: "deletion" | "insertion", auc: number) => ({
    name,
    score: "probability",
    baseline: name === "deletion" ? "zeros" : "blur",
    fractions: [0, 0.5, 1],
    counts: [0, 2, 4],
    scores: [0.9, 0.5, 0.1],
    auc,
    random_scores: [0.9, 0.7, 0.1],
    random_auc: 0.55,
    order: [0, 1, 2, 3],
    better: (name === "deletion" ? "lower" : "higher") as "lower" | "higher",
  });
  const sanity = (last: number, survives: boolean) => ({
    layers: ["fc", "conv"],
    spearman: [0.5, last],
    spearman_abs: [0.6, last],
    maps: [],
    survives,
    threshold: 0.5,
  });
  const figures = {
    a: { deletion: curve("deletion", 0.3), insertion: curve("insertion", 0.5), sanity: sanity(0.9, true) },
    b: { deletion: curve("deletion", 0.2), insertion: curve("insertion", 0.4), sanity: sanity(0.1, false) },
    c: { deletion: curve("deletion", 0.4), insertion: curve("insertion", 0.7) },
  };

  it("puts every method's figures side by side, marks the best and flags a map that survives randomisation", () => {
    const controls = compareResult(1, METHODS).controls;
    const el = mount(new FakeModel(compareTraits({ evaluation_figures: { controls, figures } })));
    const details = el.querySelector<HTMLDetailsElement>("details.aw-cmp-eval")!;
    expect(details.open).toBe(true); // figures from Python open the section once
    const rows = [...details.querySelectorAll<HTMLTableRowElement>(".aw-cmp-eval-table tbody tr")];
    expect(rows.map((r) => r.dataset.method)).toEqual(["a", "b", "c"]);
    const cells = rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent));
    expect(cells[0]).toEqual(["0.300", "0.500", "0.900 survives randomisation ⚠"]);
    expect(cells[1]).toEqual(["0.200", "0.400", "0.100 changes ✓"]);
    expect(cells[2]).toEqual(["0.400", "0.700", "–"]);
    // best deletion AUC is the lowest (b), best insertion the highest (c)
    const best = rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.classList.contains("aw-eval-best")));
    expect(best.map((r) => r.slice(0, 2))).toEqual([[false, false], [true, false], [false, true]]);
    // one chart per curve kind: a line per method plus the random order
    for (const kind of ["deletion", "insertion"]) {
      const chart = details.querySelector(`[data-chart="compare-${kind}"]`)!;
      expect([...chart.querySelectorAll("path.aw-eval-line")].map((p) => p.getAttribute("data-series"))).toEqual([
        "Method A",
        "Method B",
        "Method C",
        "random order",
      ]);
    }
  });

  it("asks the kernel for the figures (curves on first opening), shows progress and cancels", () => {
    const model = new FakeModel(compareTraits());
    const el = mount(model);
    const details = el.querySelector<HTMLDetailsElement>("details.aw-cmp-eval")!;
    expect(details.open).toBe(false);
    details.open = true;
    details.dispatchEvent(new Event("toggle"));
    expect(model.sent).toContainEqual({ type: "evaluate", what: ["deletion", "insertion"] });
    details.querySelector<HTMLButtonElement>('[data-job="sanity"]')!.click();
    expect(model.sent).toContainEqual({ type: "evaluate", what: ["sanity"] });
    model.set("evaluation", { state: "computing", what: ["sanity"], done: 1, total: 3, elapsed_ms: 5, message: "computing sanity of b…", error: null });
    expect(details.querySelector(".aw-eval-status")!.textContent).toBe("computing sanity of b… 33 %");
    expect(details.querySelector<HTMLButtonElement>('[data-job="all"]')!.disabled).toBe(true);
    details.querySelector<HTMLButtonElement>('[data-control="evaluate-cancel"]')!.click();
    expect(model.sent).toContainEqual({ type: "evaluate_cancel" });
  });
});
