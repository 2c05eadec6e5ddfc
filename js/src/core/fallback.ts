/**
 * The kernel displays each widget's static picture (attr_widgets/widgets/_fallback.py) as a second output, marked
 * `data-aw-fallback="<fallback_id>"`, for the places no view can be drawn (nbconvert, GitHub, a notebook reopened
 * without its kernel). While a live view of that widget is on the page, one stylesheet rule per widget hides it:
 * the whole output in JupyterLab and Notebook 7 (no empty output row), the marked element elsewhere.
 */

const held = new Map<string, { views: number; style: HTMLStyleElement }>();

/** The kernel's ids are uuid hex; anything else is not put into a selector. */
const SAFE_ID = /^[0-9a-f]{8,64}$/;

export function fallbackRule(id: string): string {
  const mark = `[data-aw-fallback="${id}"]`;
  return `${mark}{display:none!important}.jp-OutputArea-child:has(${mark}){display:none!important}`;
}

/** Hide the fallback of widget `id` while this view lives; returns the release (idempotent). */
export function hideStaticFallback(id: string | undefined, doc: Document = document): () => void {
  if (!id || !SAFE_ID.test(id)) return () => undefined;
  let entry = held.get(id);
  if (!entry) {
    const style = doc.createElement("style");
    style.dataset.awFallbackHidden = id;
    style.textContent = fallbackRule(id);
    doc.head.append(style);
    entry = { views: 0, style };
    held.set(id, entry);
  }
  entry.views += 1;
  let released = false;
  return () => {
    if (released || !entry) return;
    released = true;
    entry.views -= 1;
    if (entry.views === 0) {
      entry.style.remove();
      held.delete(id);
    }
  };
}
