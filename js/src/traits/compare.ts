/**
 * The synced state of `attr_widgets.CompareWidget` beyond the compute protocol (Python is the source of truth;
 * tests/widgets/test_widget_transport.py checks this interface against the Python class).
 */
import type { SignMode } from "../core/colorscale";
import type { BinaryArray, ComputeTraits, ResultBase, TraitKeys } from "../core/protocol";
import type { Store, StoreKey } from "../core/store";
import type { Evaluation, Figures } from "./attribution";
import type { ClassifierTraits, Options, Prediction } from "./shared";

export type { Options, Prediction };

/** The maps finished so far for one request (`complete` once every method has run). */
export interface CompareResult extends ResultBase {
  target: number;
  baseline: string;
  n_steps: number;
  /**
   * Method name → its `[H, W]` float32 map (the attribution summed over channels). A partial result carries only
   * the map finished since the previous one (the view keeps those of the same request); the complete one all.
   */
  maps: Record<string, BinaryArray>;
  /** The methods whose map this request has finished so far, in the grid's order. */
  finished: string[];
  /** Method name → the error of a method that failed (the others still show). */
  errors: Record<string, string>;
  method_ms: Record<string, number>;
  complete: boolean;
  target_prob: number | null;
}

/** Where one method of the newest request stands. */
export interface MethodState {
  state: "queued" | "computing" | "done" | "error" | "cancelled";
  done: number;
  total: number;
  elapsed_ms: number;
  error: string | null;
}

export interface MethodStates {
  seq: number;
  states: Record<string, MethodState>;
}

/** Method × method agreement over the maps of result `seq` (null where a map is missing or rho undefined). */
export interface Agreement {
  seq: number;
  methods: string[];
  spearman: (number | null)[][];
  topk: (number | null)[][];
  k: number;
}

/** All synced traits of CompareWidget. */
export interface CompareWidgetTraits extends ComputeTraits<CompareResult>, ClassifierTraits {
  // controls
  target: number;
  baseline: string;
  n_steps: number;
  shared_scale: boolean;
  k: number;
  sign_mode: SignMode;
  outlier_percent: number;
  opacity: number;
  canvas_size: number;
  // state written by Python only
  /** "image": maps over the input; "tabular": one row of features, each map drawn as feature bars. */
  kind: "image" | "tabular";
  image: BinaryArray | null;
  feature_names: string[];
  feature_values: number[];
  labels: string[];
  num_classes: number;
  top_k: Prediction[];
  options: Options;
  method_states: MethodStates;
  agreement_state: Agreement;
  /** The Evaluate section's job (attr_widgets/widgets/_evaluation_panel.py), as the AttributionWidget's. */
  evaluation: Evaluation | Record<string, never>;
  /** Method name → its figures, for the controls they evaluate. */
  evaluation_figures: CompareEvaluationFigures | Record<string, never>;
}

export interface CompareEvaluationFigures {
  controls: Record<string, unknown>;
  figures: Record<string, Figures>;
}

export const COMPARE_KEYS: TraitKeys<Omit<CompareWidgetTraits, keyof ComputeTraits>> = {
  target: true,
  baseline: true,
  n_steps: true,
  shared_scale: true,
  k: true,
  sign_mode: true,
  outlier_percent: true,
  opacity: true,
  canvas_size: true,
  kind: true,
  image: true,
  feature_names: true,
  feature_values: true,
  labels: true,
  num_classes: true,
  top_k: true,
  options: true,
  method_states: true,
  agreement_state: true,
  evaluation: true,
  evaluation_figures: true,
};

/** The pixel (x, y) under the pointer in any of the maps (every map marks it), or null; a feature is (index, 0). */
export interface PixelHover {
  x: number;
  y: number;
}

/** Which matrix is drawn, and the pair of methods opened from it. */
export type AgreementMetric = "spearman" | "topk";

export interface CompareLocal {
  hover: PixelHover | null;
  metric: AgreementMetric;
  pair: [string, string] | null;
}

export type CompareStore = Store<CompareWidgetTraits, CompareLocal>;
export type CompareKey = StoreKey<CompareWidgetTraits, CompareLocal>;
