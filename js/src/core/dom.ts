/** Tiny DOM helpers: element creation and a bag of cleanups so `render` can release everything it registered. */

type Attrs = Record<string, string | number | boolean | undefined>;

/** Create an element with attributes (`class`, `data-*`, `aria-*`, …) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) el.append(child);
  return el;
}

/** Collects cleanup callbacks and runs them once, last registered first. */
export class Disposer {
  private cleanups: (() => void)[] = [];
  private disposed = false;

  /** Register a cleanup. */
  add(cleanup: () => void): void {
    if (this.disposed) cleanup();
    else this.cleanups.push(cleanup);
  }

  /** addEventListener that is removed on dispose. */
  listen<K extends keyof HTMLElementEventMap>(
    target: HTMLElement | Window,
    type: K,
    handler: (event: HTMLElementEventMap[K]) => void,
  ): void {
    target.addEventListener(type, handler as EventListener);
    this.add(() => target.removeEventListener(type, handler as EventListener));
  }

  /** Run every cleanup (idempotent). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const cleanup of this.cleanups.reverse()) cleanup();
    this.cleanups = [];
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}
