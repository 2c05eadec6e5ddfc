/**
 * The synced state of `attr_widgets.AttributionWidget` beyond the compute protocol (Python is the source of truth;
 * tests/widgets/test_widget_transport.py checks that every widget class has its `<ClassName>Traits` here).
 */
import type { SignMode } from "../core/colorscale";
import type { BinaryArray, ComputeTraits, ResultBase, TraitKeys } from "../core/protocol";
import type { Store, StoreKey } from "../core/store";

export type { SignMode };

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

/** The outcome of one request: a heatmap, or an error message. */
export interface Result extends ResultBase {
  method: string;
  target: number;
  baseline: string;
  n_steps: number;
  inputs_version: number;
  heatmap: BinaryArray | null;
  completeness: Completeness | null;
  target_prob: number | null;
}

/** All synced traits of AttributionWidget. */
export interface AttributionWidgetTraits extends ComputeTraits<Result> {
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
  inputs_version: number;
}

export const ATTRIBUTION_KEYS: TraitKeys<Omit<AttributionWidgetTraits, keyof ComputeTraits>> = {
  method: true,
  target: true,
  baseline: true,
  n_steps: true,
  opacity: true,
  sign_mode: true,
  outlier_percent: true,
  canvas_size: true,
  image: true,
  labels: true,
  num_classes: true,
  top_k: true,
  options: true,
  inputs_version: true,
};

/** The pixel under the pointer and its attribution, or null. */
export interface Hover {
  x: number;
  y: number;
  value: number;
}

/** What only the view of an AttributionWidget knows. */
export interface AttributionLocal {
  hover: Hover | null;
}

export type AttributionStore = Store<AttributionWidgetTraits, AttributionLocal>;
export type AttributionKey = StoreKey<AttributionWidgetTraits, AttributionLocal>;

/** Controls the view writes (which of them recompute is the kernel's `compute_keys`). */
export type ControlKey = "method" | "target" | "baseline" | "n_steps" | "opacity" | "sign_mode";
