/**
 * The view's state: the synced traits plus what only the browser knows (the result on screen, whether a request is
 * in flight, the hovered pixel, whether the kernel is still connected). Views read from here and write controls
 * through `setControl`, never to the model.
 *
 * Staleness (docs/WIDGET_CORE.md): a result is current iff the controls it was computed for equal the present value
 * of every compute control, whose names the kernel sends in `compute_keys`. A result for controls the view has
 * already left waits (busy) until the kernel answers the present ones.
 */
import type { AnyModel } from "@anywidget/types";
import type { ControlKey, Result, WidgetTraits } from "./types";

/** What changed: trait names, or one of the view-only keys. */
export type StoreKey = keyof WidgetTraits | "shown" | "busy" | "hover" | "connected";
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
  "inputs_version",
  "compute_keys",
  "request_seq",
  "result",
  "activity",
];

/** The pixel under the pointer and its attribution, or null. */
export interface Hover {
  x: number;
  y: number;
  value: number;
}

/** The ipywidgets model behind anywidget's proxy knows whether its comm is alive. */
interface CommAware {
  comm_live?: boolean;
}

export class Store {
  /** The result on screen (heatmap or error); null until the first current one arrives. */
  shown: Result | null = null;
  /** Results that arrived for controls the view had already left, and were therefore not shown (yet). */
  dropped = 0;
  hover: Hover | null = null;
  /** False once the comm to the kernel is closed (kernel restarted or shut down). */
  connected = true;

  /** The newest result received, shown or not: it waits here while the controls it answers are not current. */
  private latest: Result | null = null;
  private listeners = new Set<Listener>();
  private unbind: (() => void)[] = [];

  constructor(private model: AnyModel<WidgetTraits>) {
    for (const key of SYNCED_KEYS) {
      const handler = () => this.onModelChange(key);
      model.on(`change:${key}`, handler);
      this.unbind.push(() => model.off(`change:${key}`, handler));
    }
    const onComm = () => this.checkConnected();
    // ipywidgets triggers these on its model when the kernel goes away; anywidget forwards `on` to it.
    for (const event of ["comm_live_update", "comm:close", "destroy"]) {
      model.on(event, onComm);
      this.unbind.push(() => model.off(event, onComm));
    }
    this.acceptResult(model.get("result"));
  }

  get<K extends keyof WidgetTraits>(key: K): WidgetTraits[K] {
    return this.model.get(key);
  }

  /** Names of the controls whose change recomputes (sent by the kernel). */
  get computeKeys(): string[] {
    return this.model.get("compute_keys") ?? [];
  }

  /** True while the kernel owes the view a result for the present controls. */
  get busy(): boolean {
    const shown = this.shown;
    if (shown === null || !this.isCurrent(shown)) return this.activity !== "cancelled";
    return this.activity === "computing";
  }

  /** The kernel's activity state ("idle" when it has not said). */
  get activity(): string {
    return this.model.get("activity")?.state ?? "idle";
  }

  /** True when a cancelled request left the result on screen out of date. */
  get stale(): boolean {
    const shown = this.shown;
    return !this.connected || (this.activity === "cancelled" && (shown === null || !this.isCurrent(shown)));
  }

  /** Whether `result` was computed for the compute controls as they stand here. */
  private isCurrent(result: Result): boolean {
    const controls = result.controls ?? (result as unknown as Record<string, unknown>);
    return this.computeKeys.every((key) => controls[key] === this.model.get(key as keyof WidgetTraits));
  }

  /** Set a control as the user did: sync it to the kernel; if it recomputes, the shown result goes stale. */
  setControl<K extends ControlKey>(key: K, value: WidgetTraits[K]): void {
    if (!this.connected || this.model.get(key) === value) return;
    const changed = new Set<StoreKey>([key]);
    if (this.computeKeys.includes(key)) changed.add("busy");
    this.model.set(key, value);
    this.model.save_changes();
    this.emit(changed);
  }

  /** Set several controls in one message to the kernel (so it makes one request for all of them). */
  setControls(values: Partial<Pick<WidgetTraits, ControlKey>>): void {
    if (!this.connected) return;
    const changed = new Set<StoreKey>();
    for (const [key, value] of Object.entries(values) as [ControlKey, never][]) {
      if (this.model.get(key) === value) continue;
      this.model.set(key, value);
      changed.add(key);
      if (this.computeKeys.includes(key)) changed.add("busy");
    }
    if (changed.size === 0) return;
    this.model.save_changes();
    this.emit(changed);
  }

  /** Ask the kernel to stop the request in flight (it keeps the last good result). */
  cancel(): void {
    if (this.connected) this.model.send({ type: "cancel" });
  }

  /** Ask the kernel to compute the present controls again (after a cancel). */
  recompute(): void {
    if (this.connected) this.model.send({ type: "recompute" });
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

  private checkConnected(): void {
    const live = (this.model as unknown as CommAware).comm_live;
    if (live === false && this.connected) {
      this.connected = false;
      this.emit(new Set<StoreKey>(["connected", "busy", "shown"]));
    }
  }

  private onModelChange(key: keyof WidgetTraits): void {
    const changed = new Set<StoreKey>([key]);
    if (key === "result") {
      if (this.acceptResult(this.model.get("result"))) changed.add("shown");
      changed.add("busy");
    } else if (key === "activity") {
      changed.add("busy");
    } else if (this.computeKeys.includes(key) || key === "compute_keys") {
      // A control put back by the kernel (a rejected value) can make the waiting result current again.
      const latest = this.latest;
      if (latest !== null && latest !== this.shown && this.isCurrent(latest)) {
        this.shown = latest;
        changed.add("shown");
      }
      changed.add("busy");
    }
    this.emit(changed);
  }

  private acceptResult(result: Result | null): boolean {
    if (result === null) return false;
    this.latest = result;
    if (!this.isCurrent(result)) {
      this.dropped += 1;
      return false;
    }
    this.shown = result;
    return true;
  }

  private emit(changed: Set<StoreKey>): void {
    for (const listener of this.listeners) listener(changed);
  }
}
