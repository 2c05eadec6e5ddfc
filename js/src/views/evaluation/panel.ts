/**
 * The "Evaluate" section of the AttributionWidget: a collapsible panel whose buttons (and first opening) ask the
 * kernel for evaluation figures of the attribution on screen, with progress and cancel. The figures are drawn as
 * inline SVG; the curves mark on the heatmap which pixels are replaced at the hovered fraction.
 */
import { decodeHeatmap, decodeRgba } from "../../core/codecs";
import { h } from "../../core/dom";
import { sameControl } from "../../core/store";
import type { View } from "../../core/view";
import type { AttributionKey, AttributionStore, Evaluation, EvaluationFigures } from "../../traits/attribution";
import type { HeatmapView } from "../heatmap";
import { curveCard } from "./curves";
import { createEvaluationProgress } from "./progress";
import { axiomsCard, convergenceCard, numbersCard, sanityCard } from "./figures";

/** The panel's buttons: a label and the evaluations it asks for. */
export const JOBS: { id: string; label: string; what: string[]; title: string }[] = [
  { id: "curves", label: "Deletion / insertion", what: ["deletion", "insertion"], title: "Petsiuk, Das and Saenko, “RISE”, 2018" },
  { id: "convergence", label: "Convergence", what: ["convergence"], title: "|delta| vs n_steps per integration rule" },
  { id: "sanity", label: "Sanity check", what: ["sanity"], title: "Adebayo et al., “Sanity Checks for Saliency Maps”, 2018" },
  { id: "axioms", label: "Axioms", what: ["axioms"], title: "Sundararajan, Taly and Yan, 2017" },
  { id: "numbers", label: "Infidelity / sensitivity", what: ["infidelity", "sensitivity"], title: "Yeh et al., 2019" },
  { id: "all", label: "All", what: ["deletion", "insertion", "convergence", "sanity", "axioms", "infidelity", "sensitivity"], title: "Every figure" },
];

/** What opening the section computes when nothing is there yet (the fast figures). */
export const ON_OPEN = ["deletion", "insertion"];

/** Whether the figures evaluate the controls of the result on screen. */
export function figuresCurrent(known: EvaluationFigures | Record<string, never>, controls: Record<string, unknown> | undefined): boolean {
  if (!("controls" in known) || !controls) return false;
  const keys = new Set([...Object.keys(known.controls), ...Object.keys(controls)]);
  return [...keys].every((k) => sameControl(known.controls[k], controls[k]));
}

export function createEvaluation(store: AttributionStore, heatmap: HeatmapView): View<AttributionKey> {
  const summary = h("summary", { class: "aw-eval-summary" }, "Evaluate this attribution");
  const buttons = JOBS.map((job) =>
    h("button", { type: "button", class: "aw-eval-run", "data-job": job.id, title: job.title }, job.label),
  );
  const progress = createEvaluationProgress(() => store.send({ type: "evaluate_cancel" }));
  const note = h("div", { class: "aw-eval-stale-note", hidden: true }, "These figures are for earlier settings; run again for the ones on screen.");
  const grid = h("div", { class: "aw-eval-grid-cards" });
  const details = h(
    "details",
    { class: "aw-eval" },
    summary,
    h("div", { class: "aw-eval-body" }, h("div", { class: "aw-eval-buttons" }, ...buttons), progress.el, progress.error, note, grid),
  );

  const run = (what: string[]) => store.send({ type: "evaluate", what });
  buttons.forEach((button, i) => button.addEventListener("click", () => run(JOBS[i].what)));
  details.addEventListener("toggle", () => {
    const ev = store.get("evaluation");
    const empty = !figuresCurrent(store.get("evaluation_figures"), store.shown?.controls);
    if (details.open && empty && ev.state !== "computing" && store.shown && !store.shown.error) run(ON_OPEN);
  });

  function drawFigures(f: EvaluationFigures["figures"]): void {
    const imageArr = store.get("image");
    const image = imageArr ? decodeRgba(imageArr) : null;
    const shown = store.shown?.heatmap ? decodeHeatmap(store.shown.heatmap).data : null;
    const mode = store.get("sign_mode");
    const hover = (pixels: number[] | null) => heatmap.setMask(pixels);
    const cards: HTMLElement[] = [];
    if (f.deletion) cards.push(curveCard(f.deletion, hover));
    if (f.insertion) cards.push(curveCard(f.insertion, hover));
    if (f.convergence) cards.push(convergenceCard(f.convergence));
    if (f.sanity) cards.push(sanityCard(f.sanity, image, shown, mode));
    if (f.axioms) cards.push(axiomsCard(f.axioms));
    if (f.infidelity || f.sensitivity) cards.push(numbersCard(f.infidelity, f.sensitivity));
    heatmap.setMask(null);
    grid.replaceChildren(...cards);
  }

  let drawn: unknown = null;
  let openedForFigures = false;
  function update(changed: Set<AttributionKey>): void {
    if (!["evaluation", "evaluation_figures", "shown", "connected"].some((k) => changed.has(k as AttributionKey))) return;
    const stored = store.get("evaluation");
    details.dataset.state = "state" in stored ? (stored as Evaluation).state : "none";
    const computing = progress.update(stored);
    for (const b of buttons) b.disabled = computing || !store.connected;
    const known = store.get("evaluation_figures");
    const figures = "figures" in known ? known.figures : {};
    const current = figuresCurrent(known, store.shown?.controls);
    note.hidden = current || Object.keys(figures).length === 0;
    grid.classList.toggle("aw-stale", !current);
    if (figures !== drawn) {
      drawn = figures;
      drawFigures(figures);
      // Figures computed from Python (`w.evaluate(...)`) or kept from an earlier view: show them, once per view
      // (the user's own closing of the section is left alone after that).
      if (!openedForFigures && current && Object.keys(figures).length > 0) {
        openedForFigures = true;
        details.open = true;
      }
    }
  }

  return { el: details, update, dispose: () => heatmap.setMask(null) };
}
