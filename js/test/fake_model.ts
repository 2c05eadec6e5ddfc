/** An in-memory stand-in for anywidget's model: get/set/on/off/save_changes with change events. */
import type { AnyModel } from "@anywidget/types";
import { encodeFloat32 } from "../src/core/codecs";
import type { Activity, BinaryArray } from "../src/core/protocol";
import type { AttributionWidgetTraits, Result } from "../src/traits/attribution";

type Handler = (...args: unknown[]) => void;

/** `T`: the synced traits of the widget class under test (AttributionWidget's unless given). */
export class FakeModel<T extends object = AttributionWidgetTraits> {
  saved: Partial<T>[] = [];
  private values: T;
  private pending: Partial<T> = {};
  private handlers = new Map<string, Set<Handler>>();

  constructor(values: T) {
    this.values = { ...values };
  }

  get<K extends keyof T>(key: K): T[K] {
    return this.values[key];
  }

  /** A set made by the view (collected until save_changes). */
  set<K extends keyof T>(key: K, value: T[K]): void {
    this.values[key] = value;
    this.pending[key] = value;
    this.fire(`change:${String(key)}`, value);
  }

  save_changes(): void {
    this.saved.push(this.pending);
    this.pending = {};
  }

  /** A value that is already in the model when another key's change event fires (one kernel message). */
  setQuietly<K extends keyof T>(key: K, value: T[K]): void {
    this.values[key] = value;
  }

    /** A change coming from the kernel. */
  kernelSet<K extends keyof T>(key: K, value: T[K]): void {
    this.values[key] = value;
    this.fire(`change:${String(key)}`, value);
  }

  on(event: string, handler: Handler): void {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)!.add(handler);
  }

  off(event?: string | null, handler?: Handler | null): void {
    if (!event) return this.handlers.clear();
    if (!handler) return void this.handlers.delete(event);
    this.handlers.get(event)?.delete(handler);
  }

  listenerCount(): number {
    let n = 0;
    for (const set of this.handlers.values()) n += set.size;
    return n;
  }

  /** Custom messages the view sent to the kernel. */
  sent: unknown[] = [];

  send(content: unknown): void {
    this.sent.push(content);
  }

  /** The kernel connection JupyterLab's widget manager holds: a status and the two Lumino signals. */
  kernel = new FakeKernel();
  widget_manager = { get_model: () => Promise.reject(new Error("no models")), kernel: this.kernel };

  asModel(): AnyModel<T> {
    return this as unknown as AnyModel<T>;
  }

  /** A custom message from the kernel (anywidget calls "msg:custom" handlers with the content and buffers). */
  kernelSend(content: Record<string, unknown>): void {
    for (const handler of this.handlers.get("msg:custom") ?? []) (handler as (c: unknown, b: unknown) => void)(content, []);
  }

    /** Trigger a model event that is not a trait change (e.g. ipywidgets' comm_live_update). */
  fireEvent(event: string): void {
    this.fire(event, undefined);
  }

  private fire(event: string, value: unknown): void {
    for (const handler of this.handlers.get(event) ?? []) handler(undefined, value);
  }
}

export function heatmap(values: number[], height: number, width: number): BinaryArray {
  return encodeFloat32(new Float32Array(values), [height, width]);
}

export function rgba(height: number, width: number, grey = 128): BinaryArray {
  const data = new Uint8Array(height * width * 4).fill(grey);
  return { view: new DataView(data.buffer), dtype: "uint8", shape: [height, width, 4] };
}

export function result(seq: number, extra: Partial<Result> = {}): Result {
  const merged = {
    seq,
    controls: {},
    method: "integrated_gradients",
    target: 1,
    baseline: "zeros",
    n_steps: 50,
    heatmap: heatmap([1, -2, 0.5, 0], 2, 2),
    completeness: { delta: 1e-4, relative: 2e-3, fx: 3, fb: 1, gap: 2, min_gap_fraction: 0.01 },
    target_prob: 0.9,
    error: null,
    elapsed_ms: 12,
    inputs_version: 0,
    ...extra,
  };
  // As the kernel does: the result names the compute controls it was computed for.
  const { method, target, baseline, n_steps, inputs_version } = merged;
  return { ...merged, controls: { method, target, baseline, n_steps, inputs_version } };
}

export function activity(state: Activity["state"], seq = 1, done = 0, total = 0): Activity {
  return { state, seq, done, total, elapsed_ms: 0, eta_ms: null, message: "" };
}

export function traits(extra: Partial<AttributionWidgetTraits> = {}): AttributionWidgetTraits {
  return {
    method: "integrated_gradients",
    target: 1,
    baseline: "zeros",
    n_steps: 50,
    evaluation: {},
    evaluation_figures: {},
    opacity: 0.75,
    sign_mode: "signed",
    outlier_percent: 0,
    canvas_size: 320,
    image: rgba(2, 2),
    labels: ["cat", "dog", "fox"],
    num_classes: 3,
    top_k: [
      { index: 1, label: "dog", prob: 0.9 },
      { index: 0, label: "cat", prob: 0.07 },
      { index: 2, label: "fox", prob: 0.03 },
    ],
    options: {
      methods: [
        {
          value: "saliency",
          label: "Saliency",
          uses_baseline: false,
          baselines: [],
          uses_steps: false,
          completeness: false,
        },
        {
          value: "gradient_shap",
          label: "GradientSHAP",
          uses_baseline: true,
          baselines: ["zeros"],
          uses_steps: false,
          completeness: true,
        },
        {
          value: "integrated_gradients",
          label: "Integrated Gradients",
          uses_baseline: true,
          baselines: ["zeros", "blur"],
          uses_steps: true,
          completeness: true,
        },
      ],
      baselines: [
        { value: "zeros", label: "Zeros" },
        { value: "blur", label: "Blurred" },
      ],
      sign_modes: [
        { value: "positive", label: "Positive" },
        { value: "signed", label: "Signed" },
      ],
    },
    notice: "",
    export_settings: null,
    inputs_version: 0,
    compute_keys: ["baseline", "inputs_version", "method", "n_steps", "target"],
    request_seq: 1,
    result: result(1),
    activity: activity("idle"),
    ...extra,
  };
}

type Slot = (sender: unknown, value: string) => void;

/** A stand-in for a Lumino signal. */
export class FakeSignal {
  slots = new Set<Slot>();
  connect(slot: Slot): boolean {
    this.slots.add(slot);
    return true;
  }
  disconnect(slot: Slot): boolean {
    return this.slots.delete(slot);
  }
  emit(value: string): void {
    for (const slot of this.slots) slot(this, value);
  }
}

/** The parts of @jupyterlab/services' KernelConnection the view watches. */
export class FakeKernel {
  status = "idle";
  statusChanged = new FakeSignal();
  connectionStatusChanged = new FakeSignal();
  setStatus(status: string): void {
    this.status = status;
    this.statusChanged.emit(status);
  }
}
