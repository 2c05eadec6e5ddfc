/**
 * Colour scales for attribution heatmaps: the value → colour/alpha mapping of each sign mode, the scale's extent
 * (a high percentile of the magnitudes, like Captum's visualiser, so one hot pixel does not wash out the rest),
 * and the compositing of the heatmap over the input image. Pure functions over typed arrays, so they are unit-tested.
 */

/** Which part of the attribution a scale shows. */
export type SignMode = "positive" | "negative" | "absolute" | "signed";

import colormaps from "./colormaps.json";

type Rgb = [number, number, number];

/** Colour stops from 0 to 1, interpolated linearly. */
type Stops = Rgb[];

// Positive reds and negative blues share their hues across modes, so a colour means the same thing everywhere.
// The ramps stay saturated: weak values are already faint through their alpha (see `overlayAlpha`), and a pale
// colour would be indistinguishable from a bright image pixel. Magnitude without sign: viridis, reversed (large =
// dark violet), distinct from the red/blue of the signed modes. The stops live in colormaps.json, which the build
// also copies to attr_widgets/static/ so the kernel's static renderers (attr_widgets/widgets/_render) use the
// very same table.
const REDS = colormaps.REDS as Stops;
const BLUES = colormaps.BLUES as Stops;
const VIRIDIS = colormaps.VIRIDIS as Stops;

function interpolate(stops: Stops, t: number): Rgb {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** The colour of a normalised value `t` (in [-1, 1] for "signed", [0, 1] otherwise). */
export function colorOf(mode: SignMode, t: number): Rgb {
  switch (mode) {
    case "positive":
      return interpolate(REDS, t);
    case "negative":
      return interpolate(BLUES, t);
    case "absolute":
      return interpolate(VIRIDIS, t);
    case "signed":
      return t >= 0 ? interpolate(REDS, t) : interpolate(BLUES, -t);
  }
}

/** The magnitude a mode shows for a raw value: 0 where the mode hides the value. */
export function magnitudeOf(mode: SignMode, v: number): number {
  switch (mode) {
    case "positive":
      return v > 0 ? v : 0;
    case "negative":
      return v < 0 ? -v : 0;
    case "absolute":
    case "signed":
      return Math.abs(v);
  }
}

/**
 * The scale's extent: the (100 − outlierPercent)th percentile of the non-zero magnitudes the mode shows
 * (the maximum when outlierPercent is 0). 0 when every shown magnitude is 0.
 */
export function scaleExtent(values: Float32Array, mode: SignMode, outlierPercent: number): number {
  const mags: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const m = magnitudeOf(mode, values[i]);
    if (m > 0 && Number.isFinite(m)) mags.push(m);
  }
  if (mags.length === 0) return 0;
  mags.sort((a, b) => a - b);
  const q = Math.min(100, Math.max(0, 100 - outlierPercent)) / 100;
  const idx = Math.min(mags.length - 1, Math.max(0, Math.ceil(q * mags.length) - 1));
  return mags[idx];
}

/**
 * One extent shared by several heatmaps (a comparison of methods or inputs): the same percentile as
 * `scaleExtent`, taken over the magnitudes of all of them pooled, so equal colours mean equal values across panels
 * and one panel's outlier cannot set the others' scale on its own unless it is an outlier of the pool too.
 */
export function sharedExtent(arrays: Float32Array[], mode: SignMode, outlierPercent: number): number {
  if (arrays.length === 1) return scaleExtent(arrays[0], mode, outlierPercent);
  const pooled = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    pooled.set(a, offset);
    offset += a.length;
  }
  return scaleExtent(pooled, mode, outlierPercent);
}

/** Normalise a raw value to the mode's range ([-1, 1] signed, [0, 1] otherwise), clipped at the extent. */
export function normalise(mode: SignMode, v: number, extent: number): number {
  if (!(extent > 0)) return 0;
  if (mode === "signed") return Math.max(-1, Math.min(1, v / extent));
  return Math.min(1, magnitudeOf(mode, v) / extent);
}

/** Overlay alpha of a normalised value: zero attribution leaves the image untouched, the extent covers it. */
export function overlayAlpha(t: number, opacity: number): number {
  return opacity * Math.sqrt(Math.min(1, Math.abs(t)));
}

/** How much of the image's contrast the ghost keeps (and how light it is): see `composite`. */
export const GHOST_CONTRAST: number = colormaps.GHOST_CONTRAST;

/**
 * Composite the heatmap over the RGBA image (same H×W) into `out`.
 *
 * With `opacity` (twice as fast) the image fades towards a light grey "ghost" of itself (its luminance at `GHOST_CONTRAST`) and the
 * heatmap is laid over it with `overlayAlpha` per pixel: at 0 the input shows as it is, at 1 the heat colours sit on
 * a light background like a diverging colour map on paper, with the input's shape still visible underneath.
 */
export function composite(
  image: Uint8ClampedArray,
  heatmap: Float32Array | null,
  mode: SignMode,
  extent: number,
  opacity: number,
  out: Uint8ClampedArray,
): Uint8ClampedArray {
  const n = out.length / 4;
  // The image fades twice as fast as the heat appears: at half opacity the background is already the ghost.
  const fade = heatmap === null ? 0 : Math.min(1, 2 * opacity);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    let r = image[o];
    let g = image[o + 1];
    let b = image[o + 2];
    if (fade > 0) {
      const ghost = 255 * (1 - GHOST_CONTRAST) + (0.299 * r + 0.587 * g + 0.114 * b) * GHOST_CONTRAST;
      r += (ghost - r) * fade;
      g += (ghost - g) * fade;
      b += (ghost - b) * fade;
    }
    if (heatmap !== null) {
      const t = normalise(mode, heatmap[i], extent);
      const a = overlayAlpha(t, opacity);
      if (a > 0) {
        const c = colorOf(mode, t);
        r = r * (1 - a) + c[0] * a;
        g = g * (1 - a) + c[1] * a;
        b = b * (1 - a) + c[2] * a;
      }
    }
    out[o] = r;
    out[o + 1] = g;
    out[o + 2] = b;
    out[o + 3] = 255;
  }
  return out;
}

/** Tick values of the legend, left to right. */
export function legendTicks(mode: SignMode, extent: number): number[] {
  switch (mode) {
    case "signed":
      return [-extent, -extent / 2, 0, extent / 2, extent];
    case "negative":
      return [0, -extent / 2, -extent];
    default:
      return [0, extent / 2, extent];
  }
}

/** A compact, sign-aware number for legends and readouts (3 significant digits; exponent when tiny or huge). */
export function formatValue(v: number): string {
  if (v === 0) return "0";
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e-2 && a < 1e4) return String(Number(v.toPrecision(3)));
  return v.toExponential(2);
}
