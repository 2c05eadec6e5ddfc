/** Busy indicator (while the kernel owes a result) and the error box (a failed request is never a blank view). */
import { h } from "../dom";
import type { Store, StoreKey } from "../store";

export interface StatusView {
  busy: HTMLElement;
  error: HTMLElement;
  update(changed: Set<StoreKey>): void;
}

export function createStatus(store: Store): StatusView {
  const busy = h(
    "span",
    { class: "aw-busy", role: "status", "aria-live": "polite" },
    h("span", { class: "aw-spinner", "aria-hidden": "true" }),
    h("span", { class: "aw-busy-text" }, "computing…"),
  );
  const title = h("div", { class: "aw-error-title" });
  const message = h("pre", { class: "aw-error-message" });
  const hint = h("div", { class: "aw-error-hint" });
  const error = h("div", { class: "aw-error", role: "alert" }, title, message, hint);
  error.hidden = true;

  function update(changed: Set<StoreKey>): void {
    if (changed.has("busy") || changed.has("shown")) {
      busy.hidden = !store.busy;
      busy.dataset.busy = String(store.busy);
    }
    if (changed.has("shown") || changed.has("notice")) {
      // A failed computation outranks a rejected change: its heatmap is missing, the other's is still valid.
      const failure = store.shown?.error ?? null;
      const notice = store.get("notice");
      error.hidden = failure === null && notice === "";
      error.dataset.kind = failure !== null ? "failure" : notice !== "" ? "rejected" : "none";
      title.textContent = failure !== null ? "Attribution failed" : "Change rejected";
      message.textContent = failure ?? notice;
      hint.textContent =
        failure !== null
          ? "The kernel raised this error (also logged there). Change a control to try again."
          : "The previous value is kept; the heatmap above is still current.";
    }
  }

  return { busy, error, update };
}
