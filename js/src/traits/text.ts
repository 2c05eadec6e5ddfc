/**
 * The synced state of `attr_widgets.TextAttributionWidget` (token highlights) beyond the compute protocol
 * (tests/widgets/test_widget_transport.py checks it against the Python class).
 */
import type { BinaryArray, ComputeTraits, ResultBase, TraitKeys } from "../core/protocol";
import type { Store, StoreKey } from "../core/store";
import type { ClassifierTraits, Completeness, MethodTraits } from "./shared";

/** One token of the example on screen, as the tokenizer cut it. */
export interface Token {
  /** The characters of the text it covers (the token string for special tokens); drawn as text, never HTML. */
  text: string;
  special: boolean;
  /** Tokens with the same number form one word (the tokenizer's own word boundaries). */
  word: number;
  /** Whether whitespace precedes it in the text. */
  space: boolean;
}

/** One ranking's row of the erasure test (Serrano and Smith, "Is Attention Interpretable?", 2019). */
export interface ErasureRow {
  name: string;
  label: string;
  flipped: boolean;
  /** Tokens removed when the decision first flipped (all erasable ones when it never did). */
  removed: number;
  /** removed / erasable when the decision flipped, else null ("never flips"). */
  fraction: number | null;
  /** Jensen-Shannon divergence of the output distribution at the flip (or with everything removed). */
  js: number;
  /** JS divergence after removing only the ranking's top token (the single-weight test). */
  js_top: number;
}

/** Serrano and Smith's 2×2 decision-flip table over the widget's texts: remove i* (most attention) vs a random token. */
export interface FlipTable {
  texts: number;
  ranking: string;
  /** Texts whose decision flips when i* is removed and also when a random token is. */
  both: number;
  top_only: number;
  random_only: number;
  neither: number;
}

export interface ErasurePanel {
  decision: number;
  erasable: number;
  rankings: ErasureRow[];
  /** Over all texts of the widget (null with a single text). */
  flip_table: FlipTable | null;
}

export interface TextResult extends ResultBase {
  method: string;
  target: number;
  baseline: string;
  n_steps: number;
  auto_steps: boolean;
  tol: number;
  example: number;
  /** One float32 score per token (special tokens included). */
  scores: BinaryArray | null;
  erasure: ErasurePanel | null;
  completeness: Completeness | null;
  target_prob: number | null;
  /** Quadrature nodes the result used (with auto_steps, how many the refinement took); null without steps. */
  steps_taken: number | null;
}

export interface TextAttributionWidgetTraits extends ComputeTraits<TextResult>, ClassifierTraits, MethodTraits {
  example: number;
  erasure: boolean;
  /** Integrated Gradients with n_steps="auto": refine until |delta| <= tol * |f(x) - f(baseline)|. */
  auto_steps: boolean;
  tol: number;
  /** A causal LM: the target is the next token (a vocabulary index); labels stay in Python, top_k has names. */
  next_token: boolean;
  words: boolean;
  show_special: boolean;
  /** The index of the pinned token (its first piece in word mode), -1 for none. */
  pinned: number;
  outlier_percent: number;
  tokens: Token[];
  examples: string[];
  /** The text's full length in tokens when it was cut to the model's maximum, else 0. */
  truncated_from: number;
  words_available: boolean;
}

export const TEXT_KEYS: TraitKeys<Omit<TextAttributionWidgetTraits, keyof ComputeTraits>> = {
  method: true,
  target: true,
  baseline: true,
  n_steps: true,
  example: true,
  erasure: true,
  auto_steps: true,
  tol: true,
  next_token: true,
  words: true,
  show_special: true,
  pinned: true,
  sign_mode: true,
  outlier_percent: true,
  tokens: true,
  examples: true,
  truncated_from: true,
  words_available: true,
  labels: true,
  num_classes: true,
  top_k: true,
  options: true,
};

/** What only the view knows: the unit (token or word) under the pointer, by its first token's index. */
export interface TextLocal {
  hover: number | null;
}

export type TextStore = Store<TextAttributionWidgetTraits, TextLocal>;
export type TextKey = StoreKey<TextAttributionWidgetTraits, TextLocal>;
