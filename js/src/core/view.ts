/**
 * The shape every view follows, and the plumbing an entry needs to mount a set of views on one store: isolated
 * updates (one view's failure is reported, the others still draw), one dispose, and the root's state attributes.
 */
import type { ProtocolState } from "./store";

/** A piece of a widget: its element, a redraw for what changed, and a cleanup of its listeners. */
export interface View<K> {
  el: HTMLElement;
  update(changed: Set<K>): void;
  dispose(): void;
}

/** A view with nothing to clean up. */
export function staticView<K>(el: HTMLElement, update: (changed: Set<K>) => void): View<K> {
  return { el, update, dispose: () => undefined };
}

/** Run each view's update in order (earlier views may feed later ones), reporting failures instead of throwing. */
export function composeViews<K>(views: View<K>[], onError: (err: unknown) => void): Omit<View<K>, "el"> {
  return {
    update(changed: Set<K>): void {
      for (const view of views) {
        try {
          view.update(changed);
        } catch (err) {
          onError(err);
        }
      }
    },
    dispose(): void {
      for (const view of views) view.dispose();
    },
  };
}

/**
 * Mirror the protocol state on the root element (data attributes for tests and CSS; a stale or disconnected
 * result is greyed) and disable every control once the kernel is gone.
 */
export function reflectState(root: HTMLElement, store: ProtocolState): void {
  const shown = store.shown;
  root.dataset.seq = String(shown?.seq ?? -1);
  root.dataset.busy = String(store.busy);
  root.dataset.dropped = String(store.dropped);
  root.dataset.error = String(Boolean(shown?.error));
  root.dataset.activity = store.activity;
  root.dataset.connected = String(store.connected);
  root.classList.toggle("aw-stale", store.stale);
  root.classList.toggle("aw-disconnected", !store.connected);
  if (!store.connected) {
    for (const control of root.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLButtonElement>(
      "input, select, button",
    )) {
      control.disabled = true;
    }
  }
}

/** Show an error of the view itself (a bug, not a kernel failure) in `box` and the console. */
export function showViewError(box: HTMLElement, err: unknown): void {
  box.hidden = false;
  const message = box.querySelector(".aw-error-message");
  if (message) message.textContent = `widget view error: ${err instanceof Error ? err.message : String(err)}`;
  console.error("attr_widgets view error", err);
}
