/**
 * The widget's synced state, mirroring the traits of `attr_widgets.widgets.AttributionWidget`
 * (Python is the source of truth; keep the two in step — tests/widgets/test_trait_interface.py checks the names).
 */

/** A numeric array sent as one binary buffer: ipywidgets turns the Python memoryview into a DataView. */
export interface BinaryArray {
  view: DataView;
  dtype: "float32" | "uint8";
  shape: number[];
}

export type SignMode = "positive" | "negative" | "absolute" | "signed";

/** One entry of a selector. */
export interface Choice {
  value: string;
  label: string;
}

/** A method the widget offers, with which of the other controls it reads. */
export interface MethodChoice extends Choice {
  uses_baseline: boolean;
  /** The baselines this method can use (the others are disabled while it is selected). */
  baselines: string[];
  uses_steps: boolean;
  completeness: boolean;
}

/** Static choices for the selectors, sent once. */
export interface Options {
  methods: MethodChoice[];
  baselines: Choice[];
  sign_modes: Choice[];
}

/** One of the model's top predictions for the input. */
export interface Prediction {
  index: number;
  label: string;
  prob: number;
}

/**
 * IG completeness: delta = Σ attr − (f(x) − f(b)); `relative` = |delta| / |f(x) − f(b)|, null when the gap
 * f(x) − f(b) is too small for a ratio to mean anything (below `min_gap_fraction` of max(|f(x)|, |f(b)|)).
 */
export interface Completeness {
  delta: number;
  relative: number | null;
  fx: number;
  fb: number;
  gap: number;
  min_gap_fraction: number;
}

/** What the kernel is doing for this widget (docs/WIDGET_CORE.md). */
export interface Activity {
  state: "idle" | "computing" | "cancelled" | "waiting";
  seq: number;
  done: number;
  total: number;
  elapsed_ms: number;
  eta_ms: number | null;
  message: string;
}

/** The outcome of one request: a heatmap, or an error message. */
export interface Result {
  seq: number;
  /** The compute controls this result was computed for (the view shows it only while they are current). */
  controls: Record<string, unknown>;
  method: string;
  target: number;
  baseline: string;
  n_steps: number;
  inputs_version: number;
  heatmap: BinaryArray | null;
  completeness: Completeness | null;
  target_prob: number | null;
  error: string | null;
  elapsed_ms: number;
}

/** All synced traits of AttributionWidget. */
export interface WidgetTraits {
  // controls (written by the view and by Python)
  method: string;
  target: number;
  baseline: string;
  n_steps: number;
  opacity: number;
  sign_mode: SignMode;
  outlier_percent: number;
  canvas_size: number;
  // state written by Python only
  image: BinaryArray | null;
  labels: string[];
  num_classes: number;
  top_k: Prediction[];
  options: Options;
  /** Why the last change was rejected (shown until the next accepted change); "" when none. */
  notice: string;
  inputs_version: number;
  // the shared compute protocol (widgets/_base.py)
  compute_keys: string[];
  request_seq: number;
  result: Result | null;
  activity: Activity;
}

/** Controls the view writes (which of them recompute is the kernel's `compute_keys`). */
export type ControlKey = "method" | "target" | "baseline" | "n_steps" | "opacity" | "sign_mode";
