/**
 * The view's state: a typed wrapper of the widget's model plus what only the browser knows (the result on screen,
 * whether a request is in flight, whether the kernel is still connected, and per-widget local state such as the
 * hovered pixel). Views read from here and write controls through `setControl`, never to the model.
 *
 * Staleness (docs/WIDGET_CORE.md): a result is current iff the controls it was computed for equal the present value
 * of every compute control, whose names the kernel sends in `compute_keys`. A result for controls the view has
 * already left waits (busy) until the kernel answers the present ones.
 *
 * One exception, while a slider is dragged (`setControl(key, value, { dragging: true })` until `release(key)`):
 * a result that differs from the present controls only in the dragged ones is shown as a *preview* — the
 * picture follows the drag a few frames behind instead of freezing until the release — and the view stays busy
 * until the result for the present values arrives. Previews only move forward (a newer request than the one
 * shown) and never stand for other settings of the undragged controls.
 */
import type { AnyModel } from "@anywidget/types";
import { COMPUTE_TRAIT_KEYS, type ComputeTraits, type ResultBase, type TraitKeys } from "./protocol";

/** The keys only the view has: the shown result, busy, connected. */
export type ViewKey = "shown" | "busy" | "connected";
/** What changed: trait names, view keys, or keys of the widget's local state. */
export type StoreKey<T, L = Record<never, never>> = keyof T | keyof L | ViewKey;
export type Listener<K> = (changed: Set<K>) => void;

type ResultOf<T extends ComputeTraits> = NonNullable<T["result"]>;

/** The ipywidgets model behind anywidget's proxy knows whether its comm is alive (where the proxy passes it). */
interface CommAware {
  comm_live?: boolean;
}

/**
 * What a saved view's host puts in `widget_manager.saved_view`: true, or the view-only controls that redraw from the
 * saved data alone (the others, e.g. the compare widget's k, need the kernel's answer).
 */
type SavedView = boolean | { view_controls?: string[] };

/** A Lumino signal, as JupyterLab's kernel connection exposes them. */
interface SignalLike {
  connect(slot: (sender: unknown, value: string) => void): boolean;
  disconnect(slot: (sender: unknown, value: string) => void): boolean;
}

/** What the view needs of the widget manager's kernel connection (JupyterLab and Notebook 7). */
interface KernelLike {
  status?: string;
  statusChanged?: SignalLike;
  connectionStatusChanged?: SignalLike;
}

// A kernel in one of these states has lost (or is about to lose) every widget it held.
const GONE_STATUSES = new Set(["restarting", "autorestarting", "dead", "terminating", "disconnected"]);

/** What views shared by every widget (progress, errors, state attributes) read: the protocol part of any store. */
export interface ProtocolState {
  readonly shown: ResultBase | null;
  readonly dropped: number;
  readonly connected: boolean;
  /** A saved view (the offline page of `w.save("view.html")`): there is no kernel, only the state it saved. */
  readonly offline?: boolean;
  /** Whether `name` is a view-only control (a synced trait whose change redraws and never recomputes). */
  isViewControl?(name: string): boolean;
  readonly busy: boolean;
  /** The result shown is a preview: it answers an earlier value of a control being dragged. */
  readonly preview?: boolean;
  readonly stale: boolean;
  readonly activity: string;
  get<K extends keyof ComputeTraits>(key: K): ComputeTraits[K];
  cancel(): void;
  recompute(): void;
}

/**
 * What a view may use of a store: reading traits and protocol state, and writing controls. A view written
 * against the traits it needs (`StoreView<ComputeTraits & ClassifierTraits>`) then serves every widget that has
 * them; subscribing stays with the entry, which knows all the keys.
 */
export type StoreView<T extends ComputeTraits> = Omit<
  Store<T, Record<never, never>>,
  "subscribe" | "dispose" | "allKeys" | "local" | "setLocal" | "disconnect"
>;

/**
 * Whether two control values are the same: primitives by identity, arrays (e.g. slider offsets) element by
 * element, since a result's `controls` arrive as fresh JSON arrays that are never identical to the model's.
 */
export function sameControl(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  return a.every((item, i) => sameControl(item, b[i]));
}

export class Store<T extends ComputeTraits, L extends object = Record<never, never>> implements ProtocolState {
  /** The result on screen (or its error); null until the first current one arrives. */
  shown: ResultOf<T> | null = null;
  /** Results that arrived for controls the view had already left, and were therefore not shown (yet). */
  dropped = 0;
  /** False once the comm to the kernel is closed (kernel restarted or shut down), and in a saved view. */
  connected = true;
  /** True in a saved view: its host says so with `widget_manager.saved_view` (attr_widgets/widgets/_html.py). */
  offline = false;
  /** The view-only controls a saved view's host lets work (null: every view-only trait). */
  private savedViewControls: string[] | null = null;

  /** Compute controls being dragged: a result that differs only in them may be shown as a preview. */
  private dragging = new Set<string>();
  /** The newest result received, shown or not: it waits here while the controls it answers are not current. */
  private latest: ResultOf<T> | null = null;
  private listeners = new Set<Listener<StoreKey<T, L>>>();
  private unbind: (() => void)[] = [];
  private localState: L;
  private keyList: PropertyKey[]; // untyped so a Store<T, L> is usable where a Store of fewer traits is expected

  /** `keys`: every synced trait of the widget beyond the compute protocol's own; `local`: view-only state. */
  constructor(
    private model: AnyModel<T>,
    keys: TraitKeys<Omit<T, keyof ComputeTraits>>,
    local: L = {} as L,
  ) {
    this.localState = { ...local };
    const synced = [...Object.keys(COMPUTE_TRAIT_KEYS), ...Object.keys(keys)] as (keyof T & string)[];
    this.keyList = [...synced, ...(Object.keys(local) as (keyof L)[]), "shown", "busy", "connected"];
    for (const key of synced) {
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
    this.watchKernel();
    this.acceptResult(model.get("result") as ResultOf<T> | null);
  }

  /**
   * ipywidgets marks its models dead on a kernel restart by setting `comm_live = false` without an event, and
   * anywidget's proxy does not pass `comm_live` through; so the view follows the kernel connection that the
   * widget manager holds: when that kernel restarts, dies or loses its connection, this widget is gone with it.
   */
  private watchKernel(): void {
    const manager = (this.model as unknown as { widget_manager?: { kernel?: KernelLike; saved_view?: SavedView } })
      .widget_manager;
    const saved = manager?.saved_view;
    if (saved) {
      // No kernel ever: nothing to watch, nothing to send; the saved result stays on screen.
      this.offline = true;
      this.connected = false;
      if (typeof saved === "object" && Array.isArray(saved.view_controls)) this.savedViewControls = saved.view_controls;
      return;
    }
    const kernel = manager?.kernel;
    if (!kernel) return;
    const onStatus = (_sender: unknown, status: string) => {
      if (GONE_STATUSES.has(status)) this.disconnect();
    };
    for (const signal of [kernel.statusChanged, kernel.connectionStatusChanged]) {
      if (!signal?.connect) continue;
      signal.connect(onStatus);
      this.unbind.push(() => signal.disconnect(onStatus));
    }
    if (kernel.status === "dead") this.disconnect();
  }

  /** Every key a first render must draw. */
  allKeys<K = StoreKey<T, L>>(): Set<K> {
    return new Set(this.keyList as K[]);
  }

  get<K extends keyof T>(key: K): T[K] {
    return this.model.get(key);
  }

  /** View-only state (not synced), e.g. the hovered pixel. */
  local<K extends keyof L>(key: K): L[K] {
    return this.localState[key];
  }

  setLocal<K extends keyof L>(key: K, value: L[K], same: (a: L[K], b: L[K]) => boolean = Object.is): void {
    if (same(this.localState[key], value)) return;
    this.localState[key] = value;
    this.emit(new Set<StoreKey<T, L>>([key]));
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

  /** True when a cancelled request left the result on screen out of date, or the kernel is gone (not saved views). */
  get stale(): boolean {
    const shown = this.shown;
    if (this.offline) return false; // a saved view shows the result it saved, for the controls it saved
    return !this.connected || (this.activity === "cancelled" && (shown === null || !this.isCurrent(shown)));
  }

  /** True while the result on screen is a preview of a drag (it answers an earlier value of the dragged control). */
  get preview(): boolean {
    const shown = this.shown;
    return shown !== null && this.connected && this.dragging.size > 0 && !this.isCurrent(shown);
  }

  /** Whether `result` was computed for the compute controls as they stand here (`except`: keys not compared). */
  private isCurrent(result: ResultBase, except?: Set<string>): boolean {
    const controls = result.controls ?? (result as unknown as Record<string, unknown>);
    return this.computeKeys.every(
      (key) => except?.has(key) || sameControl(controls[key], this.model.get(key as keyof T)),
    );
  }

  /** Whether `result` may be shown as a preview of the drag in progress (see the header). */
  private isPreview(result: ResultBase): boolean {
    if (this.dragging.size === 0 || result.error || !this.isCurrent(result, this.dragging)) return false;
    return this.shown === null || result.seq > this.shown.seq;
  }

  /**
   * Set a control as the user did: sync it to the kernel; if it recomputes, the shown result goes stale.
   * `dragging`: the value is one step of a drag (a range input's "input" event); call `release` at its end.
   */
  setControl<K extends keyof T>(key: K, value: T[K], { dragging = false }: { dragging?: boolean } = {}): void {
    if (dragging) this.dragging.add(key as string);
    this.setControls({ [key]: value } as unknown as Partial<T>);
  }

  /** The drag of `key` ended (the range input's "change"): from now on only current results are shown. */
  release(key: keyof T & string): void {
    this.dragging.delete(key);
  }

  /** Set several controls in one message to the kernel (so it makes one request for all of them). */
  setControls(values: Partial<T>): void {
    if (!this.connected && !this.offline) return;
    const changed = new Set<StoreKey<T, L>>();
    for (const [key, value] of Object.entries(values) as [keyof T & string, T[keyof T]][]) {
      // A saved view redraws with its own data: view-only controls still work, nothing can recompute.
      if (this.offline && !this.isViewControl(key)) continue;
      if (sameControl(this.model.get(key), value)) continue;
      this.model.set(key, value);
      changed.add(key);
      if (this.computeKeys.includes(key)) changed.add("busy");
    }
    if (changed.size === 0) return;
    this.model.save_changes();
    this.emit(changed);
  }

  isViewControl(name: string): boolean {
    return (
      this.keyList.includes(name) &&
      !(name in COMPUTE_TRAIT_KEYS) &&
      !this.computeKeys.includes(name) &&
      !["shown", "busy", "connected"].includes(name) &&
      !(name in (this.localState as object)) &&
      (!this.offline || this.savedViewControls === null || this.savedViewControls.includes(name))
    );
  }

  /** Ask the kernel to stop the request in flight (it keeps the last good result). */
  cancel(): void {
    if (this.connected) this.model.send({ type: "cancel" });
  }

  /** Send a widget-specific custom message to the kernel (e.g. the evaluation panel's jobs). */
  send(content: Record<string, unknown>): void {
    if (this.connected) this.model.send(content);
  }

  /** Listen to the kernel's custom messages (e.g. exact hover values); returns the function that stops it. */
  onMessage(handler: (content: Record<string, unknown>) => void): () => void {
    const listener = (content: unknown) => {
      if (content !== null && typeof content === "object") handler(content as Record<string, unknown>);
    };
    this.model.on("msg:custom", listener);
    const off = () => this.model.off("msg:custom", listener);
    this.unbind.push(off);
    return off;
  }

  /** Ask the kernel to compute the present controls again (after a cancel). */
  recompute(): void {
    if (this.connected) this.model.send({ type: "recompute" });
  }

  subscribe(listener: Listener<StoreKey<T, L>>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dispose(): void {
    for (const off of this.unbind) off();
    this.unbind = [];
    this.listeners.clear();
  }

  /** Mark the view disconnected (the comm closed, or the kernel restarted under it). */
  disconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    this.emit(new Set<StoreKey<T, L>>(["connected", "busy", "shown"]));
  }

  private checkConnected(): void {
    if ((this.model as unknown as CommAware).comm_live === false) this.disconnect();
  }

  private onModelChange(key: keyof T & string): void {
    const changed = new Set<StoreKey<T, L>>([key]);
    if (key === "result") {
      if (this.acceptResult(this.model.get("result") as ResultOf<T> | null)) changed.add("shown");
      if (this.dropCancelledPreliminary()) changed.add("shown");
      changed.add("busy");
    } else if (key === "activity") {
      if (this.dropCancelledPreliminary()) changed.add("shown");
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

  /**
   * A cancelled request's coarse result is not an answer: the kernel puts its last final result back, and so
   * does the view (which then says the result shown is for earlier settings).
   */
  private dropCancelledPreliminary(): boolean {
    const shown = this.shown;
    const activity = this.model.get("activity");
    if (!shown?.preliminary || activity?.state !== "cancelled" || activity.seq !== shown.seq) return false;
    const back = this.model.get("result") as ResultOf<T> | null;
    if (back === shown || back?.preliminary) return false;
    this.shown = back;
    return true;
  }

  private acceptResult(result: ResultOf<T> | null): boolean {
    if (result === null) return false;
    this.latest = result;
    if (!this.isCurrent(result) && !this.isPreview(result)) {
      this.dropped += 1;
      return false;
    }
    this.shown = result;
    return true;
  }

  private emit(changed: Set<StoreKey<T, L>>): void {
    for (const listener of this.listeners) listener(changed);
  }
}
