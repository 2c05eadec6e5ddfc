/**
 * The "Evaluate" section of the AttributionWidget: a collapsible panel whose buttons (and first opening) ask the
 * kernel for evaluation figures of the attribution on screen, with progress and cancel. The figures are drawn as
 * inline SVG; the curves mark on the heatmap which pixels are replaced at the hovered fraction.
 */
import { decodeHeatmap, decodeRgba } from "../../core/codecs";
import type { View } from "../../core/view";
import type { AttributionKey, AttributionStore, EvaluationFigures } from "../../traits/attribution";
import type { HeatmapView } from "../heatmap";
import { curveCard } from "./curves";
import { createEvaluationSection, type Job, storeSource } from "./section";
import { axiomsCard, convergenceCard, numbersCard, sanityCard } from "./figures";

/** The panel's buttons: a label and the evaluations it asks for. */
export const JOBS: Job[] = [
  { id: "curves", label: "Deletion / insertion", what: ["deletion", "insertion"], title: "Petsiuk, Das and Saenko, “RISE”, 2018" },
  { id: "convergence", label: "Convergence", what: ["convergence"], title: "|delta| vs n_steps per integration rule" },
  { id: "sanity", label: "Sanity check", what: ["sanity"], title: "Adebayo et al., “Sanity Checks for Saliency Maps”, 2018" },
  { id: "axioms", label: "Axioms", what: ["axioms"], title: "Sundararajan, Taly and Yan, 2017" },
  { id: "numbers", label: "Infidelity / sensitivity", what: ["infidelity", "sensitivity"], title: "Yeh et al., 2019" },
  { id: "all", label: "All", what: ["deletion", "insertion", "convergence", "sanity", "axioms", "infidelity", "sensitivity"], title: "Every figure" },
];

/** What opening the section computes when nothing is there yet (the fast figures). */
export const ON_OPEN = ["deletion", "insertion"];

export { figuresCurrent } from "./section";

export function createEvaluation(store: AttributionStore, heatmap: HeatmapView): View<AttributionKey> {
  function draw(f: EvaluationFigures["figures"]): HTMLElement[] {
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
    return cards;
  }
  const section = createEvaluationSection(
    storeSource(store),
    { title: "Evaluate this attribution", cls: "aw-eval-attribution", jobs: JOBS, onOpen: ON_OPEN, draw },
  );
  const details = section.el;
  function update(changed: Set<AttributionKey>): void {
    if (["evaluation", "evaluation_figures", "shown", "connected"].some((k) => changed.has(k as AttributionKey))) section.update();
  }

  return { el: details, update, dispose: () => heatmap.setMask(null) };
}
