/**
 * Views every widget shows the same way, built on the compute protocol alone: the busy indicator with the
 * kernel's progress (bar, percent, time left) and a cancel button; the "cancelled" and "disconnected" states; and
 * the error box (a failed request is never a blank view).
 */
import { h } from "../core/dom";
import type { ComputeTraits } from "../core/protocol";
import type { ProtocolState, StoreKey } from "../core/store";
import type { View } from "../core/view";

type AnyStore = ProtocolState;
type ComputeKey = StoreKey<ComputeTraits>;

/** Progress, cancel and the cancelled / disconnected states, in one inline element for the widget's header. */
export function createActivity(store: AnyStore): View<ComputeKey> {
  const busyText = h("span", { class: "aw-busy-text" }, "computing…");
  const fill = h("span", { class: "aw-progress-fill" });
  const bar = h("span", { class: "aw-progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" }, fill);
  const cancel = h("button", { type: "button", class: "aw-cancel", "data-control": "cancel", title: "Stop this computation (the last result stays)" }, "Cancel");
  const retry = h("button", { type: "button", class: "aw-cancel", "data-control": "recompute", title: "Compute the present settings again" }, "Recompute");
  const busy = h(
    "span",
    { class: "aw-busy", role: "status", "aria-live": "polite" },
    h("span", { class: "aw-spinner", "aria-hidden": "true" }),
    busyText,
    bar,
    cancel,
  );
  const state = h("span", { class: "aw-state", role: "status" }, h("span", { class: "aw-state-text" }), retry);
  const onCancel = () => store.cancel();
  const onRetry = () => store.recompute();
  cancel.addEventListener("click", onCancel);
  retry.addEventListener("click", onRetry);

  function update(changed: Set<ComputeKey>): void {
    if (changed.has("busy") || changed.has("shown") || changed.has("activity") || changed.has("connected")) {
      const activity = store.get("activity");
      const computing = store.busy && store.connected;
      busy.hidden = !computing;
      busy.dataset.busy = String(store.busy);
      const fraction = activity && activity.total > 0 ? Math.min(1, activity.done / activity.total) : 0;
      const running = activity?.state === "computing" && activity.total > 0;
      bar.hidden = !running;
      fill.style.width = `${Math.round(fraction * 100)}%`;
      bar.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
      const eta = running && activity.eta_ms !== null ? ` · ${formatSeconds(activity.eta_ms)} left` : "";
      busyText.textContent = activity?.state === "waiting" ? activity.message : running ? `computing ${Math.round(fraction * 100)} %${eta}` : "computing…";
      cancel.hidden = activity?.state !== "computing";
      const text = state.querySelector(".aw-state-text") as HTMLElement;
      if (store.offline) {
        state.hidden = false;
        state.dataset.state = "offline";
        text.textContent = "Saved view: controls need a running kernel.";
        retry.hidden = true;
      } else if (!store.connected) {
        state.hidden = false;
        state.dataset.state = "disconnected";
        text.textContent = "Disconnected from the kernel — re-run the cell to use this widget again.";
        retry.hidden = true;
      } else if (store.stale) {
        state.hidden = false;
        state.dataset.state = "cancelled";
        text.textContent = "Cancelled — the result shown is for earlier settings.";
        retry.hidden = false;
      } else {
        state.hidden = true;
        state.dataset.state = "current";
      }
    }
  }

  function dispose(): void {
    cancel.removeEventListener("click", onCancel);
    retry.removeEventListener("click", onRetry);
  }

  const el = h("span", { class: "aw-activity" }, busy, state);
  return { el, update, dispose };
}

/** The error box: the kernel's error for a failed request (`what` names the work: "Attribution"), or a rejected change. */
export function createErrorBox(store: AnyStore, what: string): View<ComputeKey> {
  const title = h("div", { class: "aw-error-title" });
  const message = h("pre", { class: "aw-error-message" });
  const hint = h("div", { class: "aw-error-hint" });
  const el = h("div", { class: "aw-error", role: "alert" }, title, message, hint);
  el.hidden = true;

  function update(changed: Set<ComputeKey>): void {
    if (changed.has("shown") || changed.has("notice")) {
      // A failed computation outranks a rejected change: its heatmap is missing, the other's is still valid.
      const failure = store.shown?.error ?? null;
      const notice = store.get("notice");
      el.hidden = failure === null && notice === "";
      el.dataset.kind = failure !== null ? "failure" : notice !== "" ? "rejected" : "none";
      title.textContent = failure !== null ? `${what} failed` : "Change rejected";
      message.textContent = failure ?? notice;
      hint.textContent =
        failure !== null
          ? "The kernel raised this error; w.error (or w.wait()) has it in a cell. Change a control to try again."
          : "The previous value is kept; the result above is still current.";
    }
  }

  return { el, update, dispose: () => undefined };
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return s < 10 ? `${s.toFixed(1)} s` : s < 120 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`;
}
