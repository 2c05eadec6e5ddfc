/**
 * The main canvas: the input image with the heatmap composited over it, upscaled with crisp pixels (small inputs such
 * as 8×8 digits stay blocky instead of blurry), plus the hover readout of the value under the pointer.
 */
import { decodeHeatmap, decodeRgba, type Float32Image, type RgbaImage } from "../core/codecs";
import { composite, formatValue, scaleExtent, type SignMode } from "../core/colorscale";
import { Disposer, h } from "../core/dom";
import type { View } from "../core/view";
import type { AttributionKey, AttributionStore, Hover } from "../traits/attribution";

// Pointer rest before the exact value under it is asked of the kernel (block-averaged large inputs only).
const HOVER_ASK_MS = 60;

const REDRAW_KEYS: AttributionKey[] = ["image", "shown", "opacity", "sign_mode", "outlier_percent", "canvas_size"];

export interface HeatmapView extends View<AttributionKey> {
  /** The scale's extent currently drawn (the legend shows the same one). */
  extent(): number;
  /** Whether a heatmap is drawn (false before the first result and after a failure). */
  hasHeatmap(): boolean;
  /**
   * Mark pixels (flat indices, row-major) as replaced, e.g. those a deletion curve has removed at the hovered
   * fraction: they are drawn dimmed and hatched over the composite. `null` clears the mark.
   */
  setMask(pixels: ArrayLike<number> | null): void;
  /** Point at input pixel `p` as a linked partner's hover does: outlined, its value read out (null: leave). */
  pointTo(p: { x: number; y: number } | null): void;
}

const MASK_SHADE: [number, number, number] = [28, 32, 38];
const MASK_MIX = 0.78;

/** Dim the marked pixels of an RGBA buffer towards a dark shade, every other one a little more (a hatch). */
export function shadeMasked(rgba: Uint8ClampedArray, width: number, pixels: ArrayLike<number>): void {
  for (let i = 0; i < pixels.length; i++) {
    const p = pixels[i];
    const hatch = ((p % width) + Math.floor(p / width)) % 2 === 0 ? 0.08 : 0;
    const mix = Math.min(1, MASK_MIX + hatch);
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = rgba[p * 4 + c] * (1 - mix) + MASK_SHADE[c] * mix;
    rgba[p * 4 + 3] = 255;
  }
}

function sameHover(a: Hover | null, b: Hover | null): boolean {
  return a === b || (a !== null && b !== null && a.x === b.x && a.y === b.y && a.value === b.value);
}

/** Display size: the longer side becomes `size` CSS pixels. */
export function displaySize(height: number, width: number, size: number): { height: number; width: number } {
  const scale = size / Math.max(height, width);
  return { height: Math.round(height * scale), width: Math.round(width * scale) };
}

/** The pixel grid a canvas shows, and the pixel under a pointer event. */
export interface HeatmapCanvas {
  /** The framed canvas (`.aw-frame`), where a view puts it. */
  frame: HTMLElement;
  canvas: HTMLCanvasElement;
  /**
   * Composite `heatmap` over `image` on the colour scale of `mode` with `extent`, the longer side `size` px;
   * the pixels in `mask` (flat indices) are shaded as replaced.
   */
  paint(
    image: RgbaImage,
    heatmap: Float32Array | null,
    mode: SignMode,
    extent: number,
    opacity: number,
    size: number,
    mask?: ArrayLike<number> | null,
  ): void;
  /** The image pixel under the pointer, or null outside the image (or before the first paint). */
  pixelAt(event: MouseEvent): { x: number; y: number } | null;
  /** Outline one pixel (linked hover), or remove the outline. */
  mark(pixel: { x: number; y: number } | null): void;
}

/**
 * One canvas that draws an image with a heatmap over it, upscaled with crisp pixels: the AttributionWidget's main
 * view and every map of a CompareWidget draw through it, so the compositing exists once.
 */
export function createHeatmapCanvas(label = "input image with attribution heatmap"): HeatmapCanvas {
  const canvas = h("canvas", { class: "aw-canvas", "aria-label": label });
  const marker = h("div", { class: "aw-pixel-mark", "aria-hidden": "true" });
  marker.hidden = true;
  const frame = h("div", { class: "aw-frame" }, canvas, marker);
  // Native-resolution composite; drawn scaled onto the visible canvas.
  const native = document.createElement("canvas");
  let shape: { height: number; width: number } | null = null;

  function paint(
    image: RgbaImage,
    heatmap: Float32Array | null,
    mode: SignMode,
    extent: number,
    opacity: number,
    size: number,
    mask: ArrayLike<number> | null = null,
  ): void {
    shape = { height: image.height, width: image.width };
    const shown = displaySize(image.height, image.width, size);
    const dpr = window.devicePixelRatio || 1;
    canvas.style.width = `${shown.width}px`;
    canvas.style.height = `${shown.height}px`;
    canvas.width = Math.round(shown.width * dpr);
    canvas.height = Math.round(shown.height * dpr);
    native.width = image.width;
    native.height = image.height;
    const nctx = native.getContext("2d");
    const ctx = canvas.getContext("2d");
    if (!nctx || !ctx) return;
    const pixels = nctx.createImageData(image.width, image.height);
    composite(image.data, heatmap, mode, extent, opacity, pixels.data);
    if (mask) shadeMasked(pixels.data, image.width, mask);
    nctx.putImageData(pixels, 0, 0);
    // Upscaling: nearest neighbour keeps small inputs crisp; downscaling: smooth to avoid aliasing.
    ctx.imageSmoothingEnabled = canvas.width < image.width;
    ctx.drawImage(native, 0, 0, canvas.width, canvas.height);
  }

  function pixelAt(event: MouseEvent): { x: number; y: number } | null {
    if (!shape) return null;
    const rect = canvas.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) return null;
    const x = Math.floor(((event.clientX - rect.left) / rect.width) * shape.width);
    const y = Math.floor(((event.clientY - rect.top) / rect.height) * shape.height);
    if (x < 0 || y < 0 || x >= shape.width || y >= shape.height) return null;
    return { x, y };
  }

  function mark(pixel: { x: number; y: number } | null): void {
    marker.hidden = pixel === null || shape === null;
    if (pixel === null || shape === null) {
      delete marker.dataset.x;
      delete marker.dataset.y;
      return;
    }
    // In percent of the frame, so the outline follows the canvas at any display size.
    marker.style.left = `${(pixel.x / shape.width) * 100}%`;
    marker.style.top = `${(pixel.y / shape.height) * 100}%`;
    marker.style.width = `${100 / shape.width}%`;
    marker.style.height = `${100 / shape.height}%`;
    marker.dataset.x = String(pixel.x);
    marker.dataset.y = String(pixel.y);
  }

  return { frame, canvas, paint, pixelAt, mark };
}

export function createHeatmap(store: AttributionStore): HeatmapView {
  const disposer = new Disposer();
  const painter = createHeatmapCanvas();
  const { canvas, frame } = painter;
  const readout = h("div", { class: "aw-readout", "aria-live": "polite", "data-aw-no-export": true }, "hover over the image to read values");
  const el = h("div", { class: "aw-heatmap" }, frame, readout);

  let image: RgbaImage | null = null;
  let heatmap: Float32Image | null = null;
  let extent = 0;
  let mask: ArrayLike<number> | null = null;

  function decode(): void {
    const img = store.get("image");
    image = img ? decodeRgba(img) : null;
    const shown = store.shown;
    heatmap = shown?.heatmap ? decodeHeatmap(shown.heatmap) : null;
    // A new input of another size arrives before its heatmap: show the image alone until the heatmap comes.
    if (heatmap && image && (heatmap.height !== image.height || heatmap.width !== image.width)) heatmap = null;
  }

  function draw(): void {
    if (!image) return;
    const mode = store.get("sign_mode");
    extent = heatmap ? scaleExtent(heatmap.data, mode, store.get("outlier_percent")) : 0;
    painter.paint(image, heatmap?.data ?? null, mode, extent, store.get("opacity"), store.get("canvas_size"), mask);
  }

  function showReadout(): void {
    const hover = store.local("hover");
    if (!hover) {
      readout.textContent = heatmap ? "hover over the image to read values" : "";
      readout.classList.remove("aw-readout-active");
      return;
    }
    const sign = hover.value > 0 ? "+" : "";
    const k = blockSize();
    const value = hover.approximate
      ? `≈ ${sign}${formatValue(hover.value)} (mean of its ${k}×${k} block)`
      : `${sign}${formatValue(hover.value)}`;
    readout.textContent = `pixel (${hover.x}, ${hover.y})   attribution ${value}`;
    readout.classList.add("aw-readout-active");
  }

  /** Input pixels per drawn pixel along a side (1 unless the kernel sent a large input block-averaged). */
  function blockSize(): number {
    return store.shown?.display_scale ?? 1;
  }

  /**
   * The hover at input pixel (x, y): the drawn value, exact when the heatmap is at full resolution; else the
   * block's mean, and the exact value is asked of the kernel (it keeps the full-resolution result).
   */
  function hoverAt(x: number, y: number): Hover | null {
    if (!heatmap) return null;
    const k = blockSize();
    const [dx, dy] = [Math.floor(x / k), Math.floor(y / k)];
    if (dx >= heatmap.width || dy >= heatmap.height) return null;
    const value = heatmap.data[dy * heatmap.width + dx];
    if (k === 1) return { x, y, value };
    askExact(x, y);
    return { x, y, value, approximate: true };
  }

  let pendingAsk: ReturnType<typeof setTimeout> | null = null;
  function askExact(x: number, y: number): void {
    // At most one question per pointer rest: the readout shows the block mean meanwhile.
    if (pendingAsk !== null) clearTimeout(pendingAsk);
    pendingAsk = setTimeout(() => {
      pendingAsk = null;
      store.send({ type: "hover", x, y });
    }, HOVER_ASK_MS);
  }
  disposer.add(() => {
    if (pendingAsk !== null) clearTimeout(pendingAsk);
  });
  disposer.add(
    store.onMessage((content) => {
      const hover = store.local("hover");
      const current = hover !== null && content.x === hover.x && content.y === hover.y;
      if (content.type !== "hover_value" || !current || content.seq !== store.shown?.seq) return;
      store.setLocal("hover", { x: hover.x, y: hover.y, value: Number(content.value) }, sameHover);
    }),
  );

  /** The input pixel under the pointer (full resolution), or null outside the image. */
  function inputPixelAt(event: PointerEvent): { x: number; y: number } | null {
    const p = painter.pixelAt(event);
    const k = blockSize();
    if (p === null || k === 1) return p;
    const [height, width] = store.shown?.full_shape ?? [image!.height * k, image!.width * k];
    const rect = canvas.getBoundingClientRect();
    const x = Math.min(width - 1, Math.floor(((event.clientX - rect.left) / rect.width) * width));
    const y = Math.min(height - 1, Math.floor(((event.clientY - rect.top) / rect.height) * height));
    return { x: Math.max(0, x), y: Math.max(0, y) };
  }

  /** A new result under a resting pointer: read its value at the same pixel (not the last method's). */
  function rereadHover(): void {
    const hover = store.local("hover");
    if (!hover) return;
    // Set synchronously: the store's emit is re-entrant, and this update's showReadout() reads it next.
    store.setLocal("hover", hoverAt(hover.x, hover.y), sameHover);
  }

  function pointTo(p: { x: number; y: number } | null): void {
    const hover = p ? hoverAt(p.x, p.y) : null;
    const k = blockSize();
    painter.mark(hover ? { x: Math.floor(hover.x / k), y: Math.floor(hover.y / k) } : null);
    store.setLocal("hover", hover, sameHover);
  }

  disposer.listen(canvas, "pointermove", (event) => {
    painter.mark(null); // the user's own pointer: no outline of a partner's
    const p = inputPixelAt(event);
    store.setLocal("hover", p ? hoverAt(p.x, p.y) : null, sameHover);
  });
  disposer.listen(canvas, "pointerleave", () => store.setLocal("hover", null, sameHover));

  function update(changed: Set<AttributionKey>): void {
    if (changed.has("image") || changed.has("shown")) decode();
    if (changed.has("shown")) rereadHover();
    if (REDRAW_KEYS.some((k) => changed.has(k))) draw();
    if (changed.has("busy") || changed.has("shown")) {
      // A preliminary result is the request's own coarse answer: drawn at full strength, marked by the badge.
      const preliminary = store.shown?.preliminary === true;
      frame.classList.toggle("aw-stale", store.busy && !preliminary);
      frame.dataset.preliminary = String(preliminary);
    }
    if (changed.has("hover") || changed.has("shown")) showReadout();
    el.dataset.extent = String(extent);
  }

  function setMask(pixels: ArrayLike<number> | null): void {
    const k = blockSize();
    const full = store.shown?.full_shape;
    if (pixels && image && k > 1 && full) {
      // Input pixels (the curves remove them at full resolution) to the drawn blocks that hold them.
      const blocks = new Set<number>();
      for (let i = 0; i < pixels.length; i++) {
        const p = pixels[i];
        blocks.add(Math.floor(Math.floor(p / full[1]) / k) * image.width + Math.floor((p % full[1]) / k));
      }
      pixels = [...blocks];
    }
    const valid = pixels && image ? Array.from(pixels).filter((p) => p >= 0 && p < image!.width * image!.height) : null;
    mask = valid;
    el.dataset.masked = String(valid ? valid.length : 0);
    draw();
  }

  return {
    el,
    extent: () => extent,
    hasHeatmap: () => heatmap !== null,
    setMask,
    pointTo,
    update,
    dispose: () => disposer.dispose(),
  };
}
