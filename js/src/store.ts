/**
 * The view's state: the synced traits plus what only the browser knows (the result on screen, whether a request is
 * in flight, the hovered pixel). Views read from here and write controls through `setControl`, never to the model.
 *
 * Staleness: the kernel numbers every compute request (`request_seq`) and stamps each result with its number.
 * A result is shown only if it answers the newest request: newer than `request_seq` as last heard from the kernel,
 * and newer than any control change made here that the kernel has not numbered yet (`pendingFloor`).
 */
import type { AnyModel } from "@anywidget/types";
import { COMPUTE_KEYS, type ControlKey, type Result, type WidgetTraits } from "./types";

/** What changed: trait names, or one of the view-only keys. */
export type StoreKey = keyof WidgetTraits | "shown" | "busy" | "hover";
export type Listener = (changed: Set<StoreKey>) => void;

export const SYNCED_KEYS: (keyof WidgetTraits)[] = [
  "method",
  "target",
  "baseline",
  "n_steps",
  "opacity",
  "sign_mode",
  "outlier_percent",
  "canvas_size",
  "image",
  "labels",
  "num_classes",
  "top_k",
  "options",
  "notice",
  "request_seq",
  "result",
];

/** The pixel under the pointer and its attribution, or null. */
export interface Hover {
  x: number;
  y: number;
  value: number;
}

export class Store {
  /** The result on screen (heatmap or error); null until the first current one arrives. */
  shown: Result | null = null;
  /** Results that arrived after a newer request was made, and were therefore not shown. */
  dropped = 0;
  hover: Hover | null = null;

  private pendingFloor = 0;
  /** The newest result received, shown or not: it waits here while a local change it predates is in flight. */
  private latest: Result | null = null;
  private listeners = new Set<Listener>();
  private unbind: (() => void)[] = [];

  constructor(private model: AnyModel<WidgetTraits>) {
    for (const key of SYNCED_KEYS) {
      const handler = () => this.onModelChange(key);
      model.on(`change:${key}`, handler);
      this.unbind.push(() => model.off(`change:${key}`, handler));
    }
    this.acceptResult(model.get("result"));
  }

  get<K extends keyof WidgetTraits>(key: K): WidgetTraits[K] {
    return this.model.get(key);
  }

  /** The newest request number that a result must answer. */
  get newestRequest(): number {
    return Math.max(this.model.get("request_seq"), this.pendingFloor);
  }

  /** True while the kernel owes the view a result for its newest request. */
  get busy(): boolean {
    const shown = this.shown;
    return shown === null || shown.seq < this.newestRequest || !this.matchesControls(shown);
  }

  /**
   * Whether a result was computed for the controls as they stand here. The browser batches control messages
   * while the kernel is busy, so a result can carry the newest number yet answer a value the slider has left.
   */
  private matchesControls(result: Result): boolean {
    return COMPUTE_KEYS.every((key) => result[key] === this.model.get(key));
  }

  /** Set a control as the user did: sync it to the kernel, and expect a fresh result if it recomputes. */
  setControl<K extends ControlKey>(key: K, value: WidgetTraits[K]): void {
    if (this.model.get(key) === value) return;
    const changed = new Set<StoreKey>([key]);
    if ((COMPUTE_KEYS as readonly string[]).includes(key)) {
      // The kernel will number this change request_seq + 1 (or later): anything older is stale from now on.
      this.pendingFloor = Math.max(this.pendingFloor, this.model.get("request_seq") + 1);
      changed.add("busy");
    }
    this.model.set(key, value);
    this.model.save_changes();
    this.emit(changed);
  }

  setHover(hover: Hover | null): void {
    const prev = this.hover;
    const same =
      prev === hover ||
      (prev !== null && hover !== null && prev.x === hover.x && prev.y === hover.y && prev.value === hover.value);
    if (same) return;
    this.hover = hover;
    this.emit(new Set<StoreKey>(["hover"]));
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dispose(): void {
    for (const off of this.unbind) off();
    this.unbind = [];
    this.listeners.clear();
  }

  private onModelChange(key: keyof WidgetTraits): void {
    const changed = new Set<StoreKey>([key]);
    if (key === "result") {
      if (this.acceptResult(this.model.get("result"))) changed.add("shown");
      changed.add("busy");
    } else if (key === "request_seq" || (COMPUTE_KEYS as readonly string[]).includes(key)) {
      // A control put back by the kernel (a rejected value) can make the waiting result current again.
      const latest = this.latest;
      if (latest !== null && latest !== this.shown && latest.seq >= this.newestRequest && this.matchesControls(latest)) {
        this.shown = latest;
        changed.add("shown");
      }
      changed.add("busy");
    }
    this.emit(changed);
  }

  private acceptResult(result: Result | null): boolean {
    if (result === null) return false;
    if (result.seq < this.newestRequest) {
      this.dropped += 1;
      return false;
    }
    this.latest = result;
    if (!this.matchesControls(result)) return false;
    this.shown = result;
    return true;
  }

  private emit(changed: Set<StoreKey>): void {
    for (const listener of this.listeners) listener(changed);
  }
}
