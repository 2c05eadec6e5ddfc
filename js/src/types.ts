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

/** IG completeness: |Σ attr − (f(x) − f(b))| relative to |f(x) − f(b)|. */
export interface Completeness {
  delta: number;
  relative: number;
  fx: number;
  fb: number;
}

/** The outcome of one request: a heatmap, or an error message. */
export interface Result {
  seq: number;
  method: string;
  target: number;
  baseline: string;
  n_steps: number;
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
  request_seq: number;
  result: Result | null;
}

/** Controls whose change makes the kernel recompute (the rest only redraw). */
export const COMPUTE_KEYS = ["method", "target", "baseline", "n_steps"] as const;
export type ComputeKey = (typeof COMPUTE_KEYS)[number];
export type ControlKey = ComputeKey | "opacity" | "sign_mode";
