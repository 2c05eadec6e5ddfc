/**
 * The CompareWidget's "Evaluate every method" section: the AttributionWidget's evaluation figures for each map
 * on screen, side by side — a table of deletion AUC (lower is better), insertion AUC (higher is better) and the
 * sanity check (rank correlation of |map| once every layer is randomised; a map that survives is flagged), and
 * the deletion and insertion curves of all methods on one chart each. The jobs run on the kernel on demand, with
 * progress and cancel (attr_widgets/widgets/_evaluation_panel.py).
 */
import { h } from "../../core/dom";
import type { View } from "../../core/view";
import type { CurveFigure, Figures } from "../../traits/attribution";
import type { CompareKey, CompareStore } from "../../traits/compare";
import { legendRow, lineChart, type Series } from "../evaluation/charts";
import { createEvaluationSection, type Job, storeSource } from "../evaluation/section";

export const COMPARE_JOBS: Job[] = [
  { id: "curves", label: "Deletion / insertion", what: ["deletion", "insertion"], title: "Petsiuk, Das and Saenko, “RISE”, 2018" },
  { id: "sanity", label: "Sanity check", what: ["sanity"], title: "Adebayo et al., “Sanity Checks for Saliency Maps”, 2018" },
  { id: "all", label: "All three", what: ["deletion", "insertion", "sanity"], title: "curves and sanity check for every method" },
];

const SERIES = 5; // colours in styles.css (aw-eval-s0 … s4)

function fixed(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(3);
}

/** The best of the known values (lowest or highest); null when fewer than two differ (nothing to single out). */
export function bestValue(values: (number | null | undefined)[], better: "lower" | "higher"): number | null {
  const known = values.filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v));
  if (new Set(known).size < 2) return null;
  return better === "lower" ? Math.min(...known) : Math.max(...known);
}

function summaryTable(methods: string[], label: (m: string) => string, figures: Record<string, Figures>): HTMLTableElement {
  const deletion = methods.map((m) => figures[m]?.deletion?.auc);
  const insertion = methods.map((m) => figures[m]?.insertion?.auc);
  const bestDeletion = bestValue(deletion, "lower");
  const bestInsertion = bestValue(insertion, "higher");
  const rows = methods.map((m, i) => {
    const sanity = figures[m]?.sanity;
    const last = sanity ? sanity.spearman_abs[sanity.spearman_abs.length - 1] : undefined;
    const verdict = !sanity
      ? h("td", { class: "aw-eval-num" }, "–")
      : h(
          "td",
          { class: `aw-eval-num ${sanity.survives ? "aw-eval-fail" : "aw-eval-pass"}`, "data-survives": String(sanity.survives) },
          `${fixed(last)} ${sanity.survives ? "survives randomisation ⚠" : "changes ✓"}`,
        );
    const cell = (v: number | undefined, best: boolean) =>
      h("td", { class: `aw-eval-num${best ? " aw-eval-best" : ""}` }, fixed(v));
    return h(
      "tr",
      { "data-method": m },
      h("th", { scope: "row" }, label(m)),
      cell(deletion[i], deletion[i] === bestDeletion),
      cell(insertion[i], insertion[i] === bestInsertion),
      verdict,
    );
  });
  return h(
    "table",
    { class: "aw-eval-table aw-cmp-eval-table" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", {}, "method"),
        h("th", { title: "area under the deletion curve: lower is better" }, "deletion AUC ↓"),
        h("th", { title: "area under the insertion curve: higher is better" }, "insertion AUC ↑"),
        h("th", { title: "Spearman ρ of |map| with the original once every layer is randomised" }, "sanity: ρ of |map|, all layers random"),
      ),
    ),
    h("tbody", {}, ...rows),
  );
}

function curvesChart(name: "deletion" | "insertion", methods: string[], label: (m: string) => string, figures: Record<string, Figures>): HTMLElement | null {
  const series: Series[] = [];
  let sample: CurveFigure | undefined;
  methods.forEach((m, i) => {
    const f = figures[m]?.[name];
    if (!f) return;
    sample ??= f;
    series.push({ name: label(m), cls: `aw-eval-s${i % SERIES}`, x: f.fractions, y: f.scores });
  });
  if (!sample) return null;
  series.push({ name: "random order", cls: "aw-eval-random", x: sample.fractions, y: sample.random_scores, dashed: true });
  const title = `${name === "deletion" ? "Deletion" : "Insertion"} curves (${sample.better} is better)`;
  const chart = lineChart(series, { title, kind: `compare-${name}`, xLabel: `fraction of pixels ${name === "deletion" ? "removed" : "inserted"}`, yLabel: sample.score, yRange: [0, 1] });
  return h("div", { class: "aw-eval-card", "data-card": `compare-${name}` }, h("div", { class: "aw-eval-card-title" }, title), chart.el, legendRow(series));
}

export function createCompareEvaluation(store: CompareStore): View<CompareKey> {
  function draw(figures: Record<string, Figures>): HTMLElement[] {
    const choices = store.get("options").methods ?? [];
    const label = (m: string) => choices.find((c) => c.value === m)?.label ?? m;
    const methods = choices.map((c) => c.value).filter((m) => m in figures);
    if (methods.length === 0) return [];
    const cards: HTMLElement[] = [h("div", { class: "aw-eval-card aw-cmp-eval-summary", "data-card": "compare-table" }, summaryTable(methods, label, figures))];
    for (const name of ["deletion", "insertion"] as const) {
      const card = curvesChart(name, methods, label, figures);
      if (card) cards.push(card);
    }
    return cards;
  }
  const section = createEvaluationSection(
    storeSource(store),
    { title: "Evaluate every method", cls: "aw-cmp-eval", jobs: COMPARE_JOBS, onOpen: ["deletion", "insertion"], draw },
  );
  function update(changed: Set<CompareKey>): void {
    if (!["evaluation", "evaluation_figures", "shown", "connected", "options", "kind"].some((k) => changed.has(k as CompareKey))) return;
    section.el.hidden = store.get("kind") !== "image"; // the curves remove pixels
    section.update();
  }
  return { el: section.el, update, dispose: () => undefined };
}
