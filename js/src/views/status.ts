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
  const message = h("pre", { class: "aw-error-message" });
  const error = h(
    "div",
    { class: "aw-error", role: "alert" },
    h("div", { class: "aw-error-title" }, "Attribution failed"),
    message,
    h("div", { class: "aw-error-hint" }, "The kernel raised this error; the full traceback is in the kernel's log."),
  );
  error.hidden = true;

  function update(changed: Set<StoreKey>): void {
    if (changed.has("busy") || changed.has("shown")) {
      busy.hidden = !store.busy;
      busy.dataset.busy = String(store.busy);
    }
    if (changed.has("shown")) {
      const text = store.shown?.error ?? null;
      error.hidden = text === null;
      message.textContent = text ?? "";
    }
  }

  return { busy, error, update };
}
