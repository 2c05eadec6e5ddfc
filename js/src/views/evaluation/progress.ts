/**
 * The progress line of an evaluation section (AttributionWidget's and CompareWidget's): a bar, what is being
 * computed, a Cancel button, and the job's error. Drawn from the `evaluation` trait Python writes.
 */
import { h } from "../../core/dom";
import type { Evaluation } from "../../traits/attribution";

export interface EvaluationProgress {
  /** The bar, status and cancel button. */
  el: HTMLElement;
  /** The error of the last job (hidden when none). */
  error: HTMLElement;
  /** Redraw from the trait; returns whether a job is computing. */
  update(stored: Evaluation | Record<string, never>): boolean;
}

export function createEvaluationProgress(onCancel: () => void): EvaluationProgress {
  const cancel = h("button", { type: "button", class: "aw-cancel", "data-control": "evaluate-cancel", hidden: true }, "Cancel");
  const bar = h("div", { class: "aw-eval-bar" }, h("div", { class: "aw-eval-bar-fill" }));
  const status = h("span", { class: "aw-eval-status", "aria-live": "polite" });
  const el = h("div", { class: "aw-eval-progress" }, bar, status, cancel);
  const error = h("div", { class: "aw-eval-error", hidden: true });
  cancel.addEventListener("click", onCancel);

  function update(stored: Evaluation | Record<string, never>): boolean {
    const ev = stored as Evaluation;
    const has = "state" in stored;
    const computing = has && ev.state === "computing";
    cancel.hidden = !computing;
    el.hidden = !has || ev.state === "idle";
    const share = has && ev.total > 0 ? Math.min(1, ev.done / ev.total) : 0;
    (bar.firstElementChild as HTMLElement).style.width = `${Math.round(share * 100)}%`;
    status.textContent = !has ? "" : computing ? `${ev.message} ${Math.round(share * 100)} %` : ev.state === "cancelled" ? "cancelled" : "";
    error.hidden = !has || !ev.error;
    error.textContent = has && ev.error ? ev.error : "";
    return computing;
  }

  return { el, error, update };
}
