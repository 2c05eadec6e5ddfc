/**
 * The synced state of `attr_widgets.TabularAttributionWidget` (feature bars) beyond the compute protocol
 * (tests/widgets/test_widget_transport.py checks it against the Python class).
 */
import type { BinaryArray, ComputeTraits, ResultBase, TraitKeys } from "../core/protocol";
import type { Store, StoreKey } from "../core/store";
import type { ClassifierTraits, Completeness, MethodTraits } from "./shared";

export interface TabularResult extends ResultBase {
  method: string;
  target: number;
  baseline: string;
  n_steps: number;
  /** One float32 score per feature, in the input's column order. */
  scores: BinaryArray | null;
  completeness: Completeness | null;
  target_prob: number | null;
}

export interface TabularAttributionWidgetTraits extends ComputeTraits<TabularResult>, ClassifierTraits, MethodTraits {
  /** How many features get a bar of their own; the others are folded into one row. */
  top_features: number;
  outlier_percent: number;
  /** Drawn as text, never HTML. */
  feature_names: string[];
  /** The row's value of each feature (as the model sees it). */
  feature_values: number[];
}

export const TABULAR_KEYS: TraitKeys<Omit<TabularAttributionWidgetTraits, keyof ComputeTraits>> = {
  method: true,
  target: true,
  baseline: true,
  n_steps: true,
  top_features: true,
  sign_mode: true,
  outlier_percent: true,
  feature_names: true,
  feature_values: true,
  labels: true,
  num_classes: true,
  top_k: true,
  options: true,
};

export type TabularStore = Store<TabularAttributionWidgetTraits>;
export type TabularKey = StoreKey<TabularAttributionWidgetTraits>;
