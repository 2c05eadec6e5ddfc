/**
 * What every widget shares with its kernel-side base class (`attr_widgets/widgets/_base.py`, docs/WIDGET_CORE.md):
 * binary arrays, the activity report, the result envelope and the compute-protocol traits.
 */

/** A numeric array sent as one binary buffer: ipywidgets turns the Python memoryview into a DataView. */
export interface BinaryArray {
  view: DataView;
  dtype: "float32" | "uint8";
  shape: number[];
}

/** What the kernel is doing for this widget. */
export interface Activity {
  state: "idle" | "computing" | "cancelled" | "waiting";
  seq: number;
  done: number;
  total: number;
  elapsed_ms: number;
  eta_ms: number | null;
  message: string;
}

/** The envelope of every result: which request and controls it answers, and whether it failed. */
export interface ResultBase {
  seq: number;
  /** The compute controls this result was computed for (the view shows it only while they are current). */
  controls: Record<string, unknown>;
  error: string | null;
  elapsed_ms: number;
  /**
   * A coarse result of a request that goes on computing (progressive path methods): shown at once, replaced by
   * the final result of the same request. Absent on final results.
   */
  preliminary?: boolean;
}

/** The traits of `ComputeWidget`, present on every widget. */
export interface ComputeTraits<R extends ResultBase = ResultBase> {
  /** Names of the controls whose change recomputes (sent by the kernel; never written out in TypeScript). */
  compute_keys: string[];
  request_seq: number;
  result: R | null;
  activity: Activity;
  /** Why the last change was rejected (shown until the next accepted change); "" when none. */
  notice: string;
  /** `w.to_dict()` of the result on screen (settings, controls, figures), for the export menu; JSON data. */
  export_settings: ExportSettings | null;
  /** Partners of the front-end-only links (hover, token hover) that `aw.link` made. */
  linked_views?: LinkedView[];
  /** Marks this widget's static fallback output (attr_widgets/widgets/_fallback.py); a live view hides it. */
  fallback_id?: string;
}

/** One partner of a front-end link: its widget model and which view-local selections travel. */
export interface LinkedView {
  model_id: string;
  names: string[];
  /** The same for both partners of a link: the page-local channel their hovers travel on (core/link.ts). */
  channel: string;
}

/** What `to_dict()` returns (attr_widgets/widgets/_settings.py). */
export interface ExportSettings {
  widget: string;
  version: number;
  controls: Record<string, unknown>;
  view: Record<string, unknown>;
  /** The API the settings are keyword arguments of: "attribute", "DirectionsWidget" or "CompareWidget". */
  call: string;
  settings: Record<string, unknown>;
  not_serialised: Record<string, string>;
  figures: Record<string, unknown>;
  inputs?: Record<string, unknown>;
}

/**
 * Every synced trait of a widget, as an object literal with one entry per key: TypeScript then rejects a list
 * that forgets one (the Python side is checked against the interfaces by tests/widgets/test_widget_transport.py).
 */
export type TraitKeys<T> = Record<keyof T, true>;

export const COMPUTE_TRAIT_KEYS: TraitKeys<ComputeTraits> = {
  compute_keys: true,
  request_seq: true,
  result: true,
  activity: true,
  notice: true,
  export_settings: true,
  linked_views: true,
  fallback_id: true,
};
