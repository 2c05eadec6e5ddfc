/**
 * The synced state of `attr_widgets.AttributionWidget` beyond the compute protocol (Python is the source of truth;
 * tests/widgets/test_widget_transport.py checks that every widget class has its `<ClassName>Traits` here).
 */
import type { SignMode } from "../core/colorscale";
import type { BinaryArray, ComputeTraits, ResultBase, TraitKeys } from "../core/protocol";
import type { Store, StoreKey } from "../core/store";
import type { ClassifierTraits, Completeness, MethodTraits, Options, Prediction } from "./shared";

export type { Choice, Completeness, MethodChoice, Options, Prediction } from "./shared";

export type { SignMode };

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
  /** Quadrature nodes of this result (a preliminary result has fewer than n_steps); absent for old kernels. */
  steps_taken?: number | null;
  /**
   * Input pixels per heatmap pixel along each side: an input larger than 640 px a side arrives averaged over
   * k × k blocks (image and heatmap alike); exact values come from the kernel on hover. 1 (or absent) otherwise.
   */
  display_scale?: number;
  /** [H, W] of the input (and of the attribution) when `display_scale` > 1. */
  full_shape?: [number, number];
}

/** A deletion or insertion curve (attr_widgets/widgets/_evaluation.py: curve_figure). */
export interface CurveFigure {
  name: "deletion" | "insertion";
  score: string;
  baseline: string;
  fractions: number[];
  /** Pixels removed (deletion) or inserted (insertion) at each fraction. */
  counts: number[];
  scores: number[];
  auc: number;
  random_scores: number[];
  random_auc: number;
  /** Flat pixel indices, most important first: the first `counts[i]` change at point i. */
  order: number[];
  better: "lower" | "higher";
}

export interface RuleCurve {
  n_steps: number[];
  delta: number[];
  relative_delta: number[];
}

export type ConvergenceFigure =
  | { applicable: false; reason: string }
  | { applicable: true; rules: Record<string, RuleCurve>; current: { rule: string; n_steps: number } };

export interface SanityFigure {
  layers: string[];
  spearman: (number | null)[];
  spearman_abs: (number | null)[];
  maps: BinaryArray[];
  survives: boolean;
  threshold: number;
}

export interface AxiomRow {
  axiom: string;
  passed: boolean;
  measured: number | null;
  tolerance: number;
  measure: string;
  detail: string;
  /** The theoretical table of the method: true, false, or null (unknown / not applicable). */
  theory: boolean | null;
}

export interface AxiomsFigure {
  method: string;
  source: string;
  rows: AxiomRow[];
}

export interface NumberFigure {
  value: number | null;
  meaning: string;
}

export interface Figures {
  deletion?: CurveFigure;
  insertion?: CurveFigure;
  convergence?: ConvergenceFigure;
  sanity?: SanityFigure;
  axioms?: AxiomsFigure;
  infidelity?: NumberFigure;
  sensitivity?: NumberFigure;
}

/** The evaluation panel's progress (attr_widgets/widgets/_evaluation_panel.py), `{}` before the first job. */
export interface Evaluation {
  state: "computing" | "idle" | "cancelled" | "error";
  what: string[];
  /** Figures done (fractional within one), of `total`. */
  done: number;
  total: number;
  elapsed_ms: number;
  message: string;
  error: string | null;
}

/** The figures known for one setting, sent once per figure (not with every progress report). */
export interface EvaluationFigures {
  /** The controls of the result the figures evaluate. */
  controls: Record<string, unknown>;
  figures: Figures;
}

/** All synced traits of AttributionWidget. */
export interface AttributionWidgetTraits extends ComputeTraits<Result>, ClassifierTraits, MethodTraits {
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
  evaluation: Evaluation | Record<string, never>;
  evaluation_figures: EvaluationFigures | Record<string, never>;
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
  evaluation: true,
  evaluation_figures: true,
};

/** The pixel under the pointer and its attribution, or null. */
export interface Hover {
  /** The pixel of the input (at full resolution). */
  x: number;
  y: number;
  value: number;
  /** The block mean a downscaled heatmap shows, until the kernel's exact value arrives. */
  approximate?: boolean;
}

/** What only the view of an AttributionWidget knows. */
export interface AttributionLocal {
  hover: Hover | null;
}

export type AttributionStore = Store<AttributionWidgetTraits, AttributionLocal>;
export type AttributionKey = StoreKey<AttributionWidgetTraits, AttributionLocal>;

/** Controls the view writes (which of them recompute is the kernel's `compute_keys`). */
export type ControlKey = "method" | "target" | "baseline" | "n_steps" | "opacity" | "sign_mode";
