/**
 * Traits that several widget classes share, so that one view serves them all: the class selector's (target,
 * labels, top predictions) and the method controls' (method, baseline, steps, sign mode, the choices offered).
 */
import type { SignMode } from "../core/colorscale";
import type { ComputeTraits, ExportSettings } from "../core/protocol";
import type { StoreKey, StoreView } from "../core/store";

/** `w.to_dict()`, synced in every widget's `export_settings` (ComputeTraits): what an export menu writes. */
export type { ExportSettings };

/** One entry of a selector. */
export interface Choice {
  value: string;
  label: string;
}

/** A method a widget offers, with which of the other controls it reads. */
export interface MethodChoice extends Choice {
  uses_baseline: boolean;
  /** The baselines this method can use (the others are disabled while it is selected). */
  baselines: string[];
  uses_steps: boolean;
  completeness: boolean;
  /** How the method's values become one number per token (text widgets; shown under the legend). */
  reduction?: string;
  /** A short name for tight places (the compare widget's matrix headers). */
  short?: string;
  /** A setting worth showing next to the name (the compare widget: Grad-CAM's layer). */
  detail?: string;
}

/** A method the widget hides for this model, with the one-line reason (e.g. no nn.ReLU modules). */
export interface UnavailableMethod {
  value: string;
  label: string;
  reason: string;
}

/** Static choices for the selectors, sent once. */
export interface Options {
  methods: MethodChoice[];
  baselines: Choice[];
  sign_modes: Choice[];
  unavailable_methods?: UnavailableMethod[];
  /** What the model's scores were taken to be: "logits", "probabilities" or "log_probabilities". */
  output_kind?: string;
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

/** A result that may carry a completeness check. */
export interface ExplainedResult {
  method: string;
  completeness: Completeness | null;
}

/** What the target selector reads and writes. */
export interface ClassifierTraits {
  target: number;
  labels: string[];
  num_classes: number;
  top_k: Prediction[];
}

/** What the method controls read and write. */
export interface MethodTraits {
  method: string;
  baseline: string;
  n_steps: number;
  sign_mode: SignMode;
  options: Options;
}

export type ClassifierStore = StoreView<ComputeTraits & ClassifierTraits>;
export type ClassifierKey = StoreKey<ComputeTraits & ClassifierTraits>;
export type MethodStore = StoreView<ComputeTraits & MethodTraits>;
export type MethodKey = StoreKey<ComputeTraits & MethodTraits>;
