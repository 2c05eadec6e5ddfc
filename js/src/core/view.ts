/**
 * The shape every view follows, and the plumbing an entry needs to mount a set of views on one store: isolated
 * updates (one view's failure is reported, the others still draw), one dispose, and the root's state attributes.
 */
import { createExportMenu, fileStem } from "./export";
import { hideStaticFallback } from "./fallback";
import { type LinkedSelection, linkSelections } from "./link";
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
  root.dataset.preview = String(Boolean(store.preview));
  root.dataset.dropped = String(store.dropped);
  root.dataset.error = String(Boolean(shown?.error));
  root.dataset.activity = store.activity;
  root.dataset.connected = String(store.connected);
  root.dataset.offline = String(Boolean(store.offline));
  // A saved view shows its result as it was (not greyed like a lost kernel's); its controls are off all the same.
  root.classList.toggle("aw-stale", store.stale);
  root.classList.toggle("aw-disconnected", !store.connected && !store.offline);
  root.classList.toggle("aw-offline", Boolean(store.offline));
  if (!store.connected) {
    for (const control of root.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLButtonElement>(
      "input, select, button",
    )) {
      // In a saved view the controls of view-only traits (opacity, sign mode, words, ...) keep working.
      const name = control.closest<HTMLElement>("[data-control]")?.dataset.control;
      if (name === "export") continue; // the picture on screen can be saved without a kernel
      if (store.offline && name !== undefined && store.isViewControl?.(name)) continue;
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

/** What `mountWidget` needs of a store: the protocol state, a subscription, every key, a cleanup. */
export interface MountableStore<K> extends ProtocolState {
  subscribe(listener: (changed: Set<K>) => void): () => void;
  allKeys(): Set<K>;
  dispose(): void;
}

/** What a widget's entry adds to its views when it mounts them. */
export interface MountOptions<K> {
  /** View-local selections that `aw.link` forwards in the page (core/link.ts). */
  links?: LinkedSelection<K>[];
  /**
   * The figure's parts (title, heatmap or tokens, legend) and the widget's kind for file names: an export menu
   * (core/export.ts) goes into the header's status area.
   */
  figure?: { parts: HTMLElement[]; kind: string };
}

/**
 * Put a widget's laid-out `root` into `el` and keep it drawn: every store change updates the views (each in
 * isolation; a view's own failure shows in `errorBox`) and the root's state attributes. Returns the cleanup an
 * anywidget render hands back.
 */
export function mountWidget<K>(
  el: HTMLElement,
  root: HTMLElement,
  store: MountableStore<K>,
  views: View<K>[],
  errorBox: HTMLElement,
  { links = [], figure }: MountOptions<K> = {},
): () => void {
  const composed = composeViews(views, (err) => showViewError(errorBox, err));
  function update(changed: Set<K>): void {
    composed.update(changed);
    reflectState(root, store);
  }
  const menu = figure
    ? createExportMenu({
        parts: figure.parts,
        name: () => fileStem(figure.kind, store.get("export_settings")),
        settings: () => store.get("export_settings"),
      })
    : null;
  if (menu) (root.querySelector(".aw-status") ?? root).append(menu.el);
  for (const part of figure?.parts ?? []) part.dataset.awFigure = ""; // what an export draws (tests, CSS)
  const unsubscribe = store.subscribe(update);
  update(store.allKeys());
  el.append(root);
  const showFallback = hideStaticFallback(store.get("fallback_id"), el.ownerDocument);
  const unlink = links.length > 0 ? linkSelections(store, links) : () => undefined;
  return () => {
    unlink();
    menu?.dispose();
    showFallback();
    unsubscribe();
    composed.dispose();
    store.dispose();
    root.remove();
  };
}
