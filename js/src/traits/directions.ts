/**
 * The synced state of `attr_widgets.DirectionsWidget` beyond the compute protocol (Python is the source of truth;
 * tests/widgets/test_widget_transport.py checks this interface against the class's synced traits).
 */
import type { BinaryArray, ComputeTraits, ResultBase, TraitKeys } from "../core/protocol";
import type { Store, StoreKey } from "../core/store";

/** One of the model's top predictions. */
export interface Prediction {
  index: number;
  label: string;
  prob: number;
}

/** Singular values per direction: the important directions' (of GᵀA) and PCA's (of the activations). */
export interface Spectrum {
  important: number[];
  pca: number[];
}

/**
 * E[(f(X) − f(μ + P_k(X − μ)))²] for k = 0..K directions kept (k = 0: nothing kept): first order (exact from the
 * collected samples) and measured for the real f on `sampled_examples` examples.
 */
export interface Objective {
  important: number[];
  pca: number[];
  important_sampled: number[];
  pca_sampled: number[];
  sampled_examples: number;
}

/** The outcome of one request. Direction fields are absent on a failed request (`n_directions` is 0). */
export interface Result extends ResultBase {
  k: number;
  target: number | string | null;
  layer: string;
  data_version: number;
  example: number;
  offsets: number[];
  project: boolean;
  n_directions: number;
  n_samples?: number;
  n_features?: number;
  method?: string;
  f_description?: string;
  spectrum?: Spectrum;
  objective?: Objective;
  /** Std of each coordinate over the data: one slider unit. */
  spreads?: number[];
  /** Per direction, the indices of the examples with the highest / lowest coordinate. */
  top?: number[][];
  bottom?: number[][];
  f_before?: number;
  f_after?: number;
  explained_class?: number | null;
  /** The example's coordinates before / after the move, in spreads. */
  coords?: number[];
  coords_after?: number[];
  /** Coordinate × gradient along each direction at the moved point. */
  attribution?: number[];
  top_before?: Prediction[];
  top_after?: Prediction[];
  /** Texts: the example's tokens, each one's coordinates along every direction (spreads), the moved token. */
  tokens?: { text: string; special: boolean }[];
  token_coords?: number[][];
  position?: number;
}

/** Texts: a top / bottom token with a few tokens of context. */
export interface Snippet {
  example: number;
  position: number;
  before: string[];
  token: string;
  after: string[];
}

/** The top and bottom examples of the selected direction, with RGBA thumbnails (top first). */
export interface Examples {
  direction: number;
  top: number[];
  bottom: number[];
  coords: number[];
  images: BinaryArray | null;
  /** Texts: the tokens instead of thumbnails (top first). */
  snippets?: Snippet[];
}

/** All synced traits of DirectionsWidget. */
export interface DirectionsWidgetTraits extends ComputeTraits<Result> {
  // controls (written by the view and by Python)
  k: number;
  target: number | string | null;
  layer: string;
  data_version: number;
  example: number;
  offsets: number[];
  project: boolean;
  /** Texts: the token position the sliders move (-1: every token). */
  position: number;
  direction: number;
  // state written by Python only
  kind: "image" | "tokens";
  image: BinaryArray | null;
  examples: Examples | null;
  labels: string[];
  layer_names: string[];
  n_examples: number;
}

export const DIRECTIONS_KEYS: TraitKeys<Omit<DirectionsWidgetTraits, keyof ComputeTraits>> = {
  k: true,
  target: true,
  layer: true,
  data_version: true,
  example: true,
  offsets: true,
  project: true,
  position: true,
  direction: true,
  kind: true,
  image: true,
  examples: true,
  labels: true,
  layer_names: true,
  n_examples: true,
};

/** What only the view knows: slider values being dragged, not yet sent (sent once per animation frame). */
export interface DirectionsLocal {
  pending: number[] | null;
}

export type DirectionsStore = Store<DirectionsWidgetTraits, DirectionsLocal>;
export type DirectionsKey = StoreKey<DirectionsWidgetTraits, DirectionsLocal>;
