/**
 * The collapsible evaluation section both the AttributionWidget ("Evaluate this attribution") and the
 * CompareWidget ("Evaluate every method") show: job buttons, a progress line with Cancel, the job's error, a note
 * when the figures are for earlier settings, and the figure cards a widget draws. Opening it the first time
 * computes the fast figures; figures that arrive from Python (`w.evaluate(...)`) open it once. The jobs run on
 * the kernel (attr_widgets/widgets/_evaluation_panel.py); this is only their view.
 */
import { h } from "../../core/dom";
import type { ProtocolState } from "../../core/store";
import { sameControl } from "../../core/store";
import type { Evaluation } from "../../traits/attribution";

export interface Job {
  id: string;
  label: string;
  what: string[];
  title: string;
}

/** Figures as Python sends them: for the controls of the result they evaluate. */
export type Known<F> = { controls: Record<string, unknown>; figures: F } | Record<string, never>;

/** Whether the figures evaluate the controls of the result on screen. */
export function figuresCurrent(known: Known<unknown>, controls: Record<string, unknown> | undefined): boolean {
  if (!("controls" in known) || !controls) return false;
  const keys = new Set([...Object.keys(known.controls), ...Object.keys(controls)]);
  return [...keys].every((k) => sameControl(known.controls[k], controls[k]));
}

/** What a section reads of its widget: the two traits, and the protocol state to send on. */
export interface SectionSource<F> extends Pick<ProtocolState, "shown" | "connected"> {
  evaluation(): Evaluation | Record<string, never>;
  known(): Known<F>;
  send(content: Record<string, unknown>): void;
}

/** A widget store that has the evaluation traits (AttributionWidget's, CompareWidget's). */
export interface EvaluationStore<F> extends Pick<ProtocolState, "shown" | "connected"> {
  get(key: "evaluation"): Evaluation | Record<string, never>;
  get(key: "evaluation_figures"): Known<F>;
  send(content: Record<string, unknown>): void;
}

/** The section's view of a store (read at each call: the store's state changes under it). */
export function storeSource<F>(store: EvaluationStore<F>): SectionSource<F> {
  return {
    evaluation: () => store.get("evaluation"),
    known: () => store.get("evaluation_figures"),
    send: (content) => store.send(content),
    get shown() {
      return store.shown;
    },
    get connected() {
      return store.connected;
    },
  };
}

export interface SectionOptions<F> {
  title: string;
  cls: string;
  jobs: Job[];
  /** What the first opening computes when nothing is known for the result on screen. */
  onOpen: string[];
  /** The cards for `figures` (called when they change); an empty list when there is nothing to show. */
  draw(figures: F): HTMLElement[];
}

export interface Section {
  el: HTMLDetailsElement;
  /** Redraw from the traits (call when `evaluation`, `evaluation_figures`, `shown` or `connected` changed). */
  update(): void;
}

export function createEvaluationSection<F extends object>(source: SectionSource<F>, options: SectionOptions<F>): Section {
  const buttons = options.jobs.map((job) => h("button", { type: "button", class: "aw-eval-run", "data-job": job.id, title: job.title }, job.label));
  const cancel = h("button", { type: "button", class: "aw-cancel", "data-control": "evaluate-cancel", hidden: true }, "Cancel");
  const bar = h("div", { class: "aw-eval-bar" }, h("div", { class: "aw-eval-bar-fill" }));
  const status = h("span", { class: "aw-eval-status", "aria-live": "polite" });
  const progress = h("div", { class: "aw-eval-progress" }, bar, status, cancel);
  const error = h("div", { class: "aw-eval-error", hidden: true });
  const note = h("div", { class: "aw-eval-stale-note", hidden: true }, "These figures are for earlier settings; run again for the ones on screen.");
  const cards = h("div", { class: "aw-eval-grid-cards" });
  const el = h(
    "details",
    { class: `aw-eval ${options.cls}` },
    h("summary", { class: "aw-eval-summary" }, options.title),
    h("div", { class: "aw-eval-body" }, h("div", { class: "aw-eval-buttons" }, ...buttons), progress, error, note, cards),
  );

  const run = (what: string[]) => source.send({ type: "evaluate", what });
  buttons.forEach((button, i) => button.addEventListener("click", () => run(options.jobs[i].what)));
  cancel.addEventListener("click", () => source.send({ type: "evaluate_cancel" }));
  el.addEventListener("toggle", () => {
    const ev = source.evaluation();
    const empty = !figuresCurrent(source.known(), source.shown?.controls);
    const computing = "state" in ev && ev.state === "computing";
    if (el.open && empty && !computing && source.shown && !source.shown.error) run(options.onOpen);
  });

  let drawn: unknown = null;
  let openedForFigures = false;
  function update(): void {
    const stored = source.evaluation();
    const ev = stored as Evaluation;
    const has = "state" in stored;
    const computing = has && ev.state === "computing";
    el.dataset.state = has ? ev.state : "none";
    for (const b of buttons) b.disabled = computing || !source.connected;
    cancel.hidden = !computing;
    progress.hidden = !has || ev.state === "idle";
    const share = has && ev.total > 0 ? Math.min(1, ev.done / ev.total) : 0;
    (bar.firstElementChild as HTMLElement).style.width = `${Math.round(share * 100)}%`;
    status.textContent = !has ? "" : computing ? `${ev.message} ${Math.round(share * 100)} %` : ev.state === "cancelled" ? "cancelled" : "";
    error.hidden = !has || !ev.error;
    error.textContent = has && ev.error ? ev.error : "";

    const known = source.known();
    const figures = ("figures" in known ? known.figures : {}) as F;
    const current = figuresCurrent(known, source.shown?.controls);
    const any = Object.keys(figures).length > 0;
    note.hidden = current || !any;
    cards.classList.toggle("aw-stale", !current);
    if (figures === drawn) return;
    drawn = figures;
    const drawnCards = options.draw(figures);
    cards.replaceChildren(...drawnCards);
    // Figures computed from Python or kept from an earlier view: show them, once per view (the user's own
    // closing of the section is left alone after that).
    if (!openedForFigures && current && drawnCards.length > 0) {
      openedForFigures = true;
      el.open = true;
    }
  }

  return { el, update };
}
