/**
 * A picture of the view as it is on screen: the figure's parts (title, heatmap or tokens, legend) read from the
 * laid-out DOM into a flat scene of boxes, texts, canvases and inline SVGs, then painted as SVG or onto a canvas at
 * any resolution. Reading the layout (not re-drawing each widget's figure a second time) is what lets one export
 * menu serve every widget: a new view is exported as soon as its entry names its figure parts.
 *
 * Form controls are not part of a figure (the value of a number box or a menu is, as text), nor is what is marked `data-aw-no-export` (hover hints and readouts);
 * a hidden element is not drawn. Parts stacked with a wide gap between them on screen (the controls of a view sit
 * between its title and its picture) are moved together, so the figure has no empty band.
 */

/** One thing to draw, in CSS pixels relative to the figure's top-left corner. */
export type Primitive =
  | { kind: "box"; x: number; y: number; w: number; h: number; fill: string | null; gradient: string[]; radius: number; stroke: string | null; strokeWidth: number }
  | { kind: "text"; x: number; y: number; text: string; font: string; size: number; family: string; weight: string; style: string; color: string }
  | { kind: "canvas"; x: number; y: number; w: number; h: number; canvas: HTMLCanvasElement }
  /** `markup`: a standalone SVG document of the chart, `w` × `h`, its styles inlined. */
  | { kind: "svg"; x: number; y: number; w: number; h: number; markup: string };

export interface Scene {
  width: number;
  height: number;
  /** The colour the figure sits on in the page (a dark theme's too), so its text stays readable. */
  background: string;
  items: Primitive[];
}

const SVG_NS = "http://www.w3.org/2000/svg";
const SKIPPED = new Set(["INPUT", "SELECT", "BUTTON", "TEXTAREA", "OPTION", "STYLE", "SCRIPT"]);
// What the view's stylesheet sets on its SVG charts: copied onto the exported elements, which lose the stylesheet.
const SVG_STYLE = [
  "fill",
  "fill-opacity",
  "stroke",
  "stroke-width",
  "stroke-opacity",
  "stroke-dasharray",
  "opacity",
  "font-size",
  "font-family",
  "font-weight",
  "text-anchor",
  "dominant-baseline",
  "visibility",
  "display",
];

/** The alpha of a CSS colour as getComputedStyle writes it (`rgb(…)`, `rgba(…)`); 0 for "transparent". */
export function alphaOf(colour: string): number {
  const m = /^rgba?\(([^)]*)\)$/.exec(colour.trim());
  if (!m) return colour === "transparent" || colour === "" ? 0 : 1;
  const parts = m[1].split(/[\s,/]+/).filter(Boolean);
  return parts.length >= 4 ? Number(parts[3]) : 1;
}

/** The colour stops of a left-to-right `linear-gradient(…)` as getComputedStyle writes it (evenly spaced). */
export function gradientStops(backgroundImage: string): string[] {
  if (!backgroundImage.includes("linear-gradient")) return [];
  return backgroundImage.match(/rgba?\([^)]*\)/g) ?? [];
}

function visible(el: Element, style: CSSStyleDeclaration): boolean {
  return !(el as HTMLElement).hidden && style.display !== "none" && style.visibility !== "hidden" && Number(style.opacity) !== 0;
}

/** An inline SVG chart with the computed style of every element written on it (the stylesheet stays behind). */
function inlineSvg(svg: SVGSVGElement, w: number, h: number): string {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  const sources = [svg, ...svg.querySelectorAll("*")];
  const targets = [copy, ...copy.querySelectorAll("*")];
  sources.forEach((source, i) => {
    const style = getComputedStyle(source);
    const target = targets[i] as SVGElement;
    for (const name of SVG_STYLE) {
      const value = style.getPropertyValue(name);
      if (value) target.style.setProperty(name, value);
    }
  });
  copy.setAttribute("xmlns", SVG_NS);
  copy.setAttribute("width", String(w));
  copy.setAttribute("height", String(h));
  return new XMLSerializer().serializeToString(copy);
}

/** Lines of a (possibly wrapped) text node: the words on one line box joined, with that line's rectangle. */
function textLines(node: Text): { text: string; rect: DOMRect }[] {
  const raw = node.data;
  const range = document.createRange();
  range.selectNodeContents(node);
  const rects = range.getClientRects();
  if (rects.length <= 1) {
    const text = raw.replace(/\s+/g, " ").trim();
    return text && rects.length === 1 ? [{ text, rect: rects[0] }] : [];
  }
  const lines: { text: string; rect: DOMRect }[] = [];
  const word = /\S+/g;
  let m: RegExpExecArray | null;
  while ((m = word.exec(raw)) !== null) {
    range.setStart(node, m.index);
    range.setEnd(node, m.index + m[0].length);
    const rect = range.getBoundingClientRect();
    const last = lines[lines.length - 1];
    if (last && Math.abs(last.rect.top - rect.top) < 1) last.text += ` ${m[0]}`;
    else lines.push({ text: m[0], rect });
  }
  return lines;
}

let measurer: CanvasRenderingContext2D | null = null;

/** The font's ascent in px (where the baseline sits in a text's line box). */
function ascentOf(font: string, text: string, size: number): number {
  measurer ??= document.createElement("canvas").getContext("2d");
  if (!measurer) return size * 0.8;
  measurer.font = font;
  const metrics = measurer.measureText(text);
  return metrics.fontBoundingBoxAscent ?? size * 0.8;
}

/** The first opaque background colour at or above `el` (white if none). */
function backgroundOf(el: Element | undefined): string {
  for (let node = el?.parentElement; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (alphaOf(colour) > 0) return colour;
  }
  return "#ffffff";
}

/** Margin around the figure, CSS px. */
export const FIGURE_PAD = 8;
/** The widest empty band kept between two parts stacked on screen, CSS px. */
const MAX_GAP = 10;

/** Read the figure made of `parts` (in document order) from the page as it is laid out now. */
export function captureScene(parts: HTMLElement[]): Scene {
  const shown = parts.filter((p) => p.isConnected && p.getClientRects().length > 0 && visible(p, getComputedStyle(p)));
  const rects = shown.map((p) => p.getBoundingClientRect());
  const left = Math.min(...rects.map((r) => r.left));
  const right = Math.max(...rects.map((r) => r.right));
  // Each part's upward shift: the wide gaps above it, each collapsed to MAX_GAP.
  const order = shown.map((_, i) => i).sort((a, b) => rects[a].top - rects[b].top);
  const shifts = new Array<number>(shown.length).fill(0);
  let top = Infinity;
  let bottom = -Infinity;
  let shift = 0;
  for (const i of order) {
    const r = rects[i];
    if (top === Infinity) top = r.top;
    else if (r.top - bottom > MAX_GAP) shift += r.top - bottom - MAX_GAP;
    shifts[i] = shift;
    bottom = Math.max(bottom, r.bottom);
  }
  const items: Primitive[] = [];
  const dx = FIGURE_PAD - left;
  let dy = 0;
  let drawnRight = left; // the rightmost thing drawn: a full-width part with narrow content leaves no margin

  function pushText(text: string, style: CSSStyleDeclaration, rect: { left: number; top: number; right: number; height: number }): void {
    const size = parseFloat(style.fontSize) || 12;
    const font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const ascent = ascentOf(font, text, size);
    drawnRight = Math.max(drawnRight, rect.right);
    items.push({
      kind: "text",
      x: rect.left + dx,
      y: rect.top + dy + ascent,
      text,
      font,
      size,
      family: style.fontFamily,
      weight: style.fontWeight,
      style: style.fontStyle,
      color: style.color,
    });
  }

  /** A number or a choice inside a sentence ("top [10] of 30 features") is part of the figure's text. */
  function controlValue(el: Element): string | null {
    if (el instanceof HTMLInputElement && ["number", "text"].includes(el.type)) return el.value;
    if (el instanceof HTMLSelectElement) return el.selectedOptions[0]?.text ?? null;
    return null;
  }

  function walk(el: Element): void {
    if (el.hasAttribute("data-aw-no-export")) return;
    const style = getComputedStyle(el);
    if (!visible(el, style)) return;
    const r = el.getBoundingClientRect();
    const value = controlValue(el);
    if (value) {
      const left = r.left + (parseFloat(style.paddingLeft) || 0) + (parseFloat(style.borderLeftWidth) || 0);
      const top = r.top + (r.height - 1.15 * (parseFloat(style.fontSize) || 12)) / 2; // centred like the control's own text
      pushText(value, style, { left, top, right: r.right, height: r.height });
      return;
    }
    if (SKIPPED.has(el.tagName)) return;
    const [x, y, w, h] = [r.left + dx, r.top + dy, r.width, r.height];
    if (el instanceof HTMLCanvasElement) {
      items.push({ kind: "canvas", x, y, w, h, canvas: el });
      drawnRight = Math.max(drawnRight, r.right);
      return;
    }
    if (el instanceof SVGSVGElement) {
      items.push({ kind: "svg", x, y, w, h, markup: inlineSvg(el, w, h) });
      drawnRight = Math.max(drawnRight, r.right);
      return;
    }
    const fill = alphaOf(style.backgroundColor) > 0 ? style.backgroundColor : null;
    const gradient = gradientStops(style.backgroundImage);
    const strokeWidth = parseFloat(style.borderTopWidth) || 0;
    const stroke = strokeWidth > 0 && style.borderTopStyle !== "none" && alphaOf(style.borderTopColor) > 0 ? style.borderTopColor : null;
    if ((fill || gradient.length > 0 || stroke) && w > 0 && h > 0) {
      const radius = parseFloat(style.borderTopLeftRadius) || 0;
      items.push({ kind: "box", x, y, w, h, fill, gradient, radius, stroke, strokeWidth });
      drawnRight = Math.max(drawnRight, r.right);
    }
    for (const child of el.childNodes) {
      if (child instanceof Element) walk(child);
      else if (child instanceof Text) {
        for (const line of textLines(child)) pushText(line.text, style, line.rect);
      }
    }
  }

  shown.forEach((part, i) => {
    dy = FIGURE_PAD - top - shifts[i];
    walk(part);
  });
  return {
    width: Math.ceil(Math.min(right, drawnRight) - left + 2 * FIGURE_PAD),
    height: Math.ceil(bottom - top - shift + 2 * FIGURE_PAD),
    background: backgroundOf(shown[0]),
    items,
  };
}

/** Where the scene's canvases are drawn (CSS px in the figure): recorded on the menu for tests and tools. */
export function canvasLayout(scene: Scene): number[][] {
  return scene.items.flatMap((item) => (item.kind === "canvas" ? [[item.x, item.y, item.w, item.h]] : []));
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c);
}

const n = (v: number) => String(Math.round(v * 100) / 100);

/** The scene as one SVG document (canvases embedded as PNG images, crisp when scaled). */
export function sceneToSvg(scene: Scene, title = ""): string {
  const defs: string[] = [];
  const body: string[] = [`<rect width="${scene.width}" height="${scene.height}" fill="${scene.background}"/>`];
  for (const item of scene.items) {
    if (item.kind === "box") {
      const at = `x="${n(item.x)}" y="${n(item.y)}" width="${n(item.w)}" height="${n(item.h)}" rx="${n(item.radius)}"`;
      if (item.fill) body.push(`<rect ${at} fill="${item.fill}"/>`);
      if (item.gradient.length > 0) {
        const id = `aw-gradient-${defs.length}`;
        const last = Math.max(1, item.gradient.length - 1);
        const stops = item.gradient.map((c, i) => `<stop offset="${n(i / last)}" stop-color="${c}"/>`).join("");
        defs.push(`<linearGradient id="${id}" x1="0" x2="1" y1="0" y2="0">${stops}</linearGradient>`);
        body.push(`<rect ${at} fill="url(#${id})"/>`);
      }
      if (item.stroke) body.push(`<rect ${at} fill="none" stroke="${item.stroke}" stroke-width="${n(item.strokeWidth)}"/>`);
    } else if (item.kind === "text") {
      body.push(
        `<text x="${n(item.x)}" y="${n(item.y)}" font-family="${escapeXml(item.family)}" font-size="${n(item.size)}" ` +
          `font-weight="${item.weight}" font-style="${item.style}" fill="${item.color}" xml:space="preserve">${escapeXml(item.text)}</text>`,
      );
    } else if (item.kind === "canvas") {
      body.push(
        `<image x="${n(item.x)}" y="${n(item.y)}" width="${n(item.w)}" height="${n(item.h)}" preserveAspectRatio="none" ` +
          `image-rendering="pixelated" style="image-rendering:pixelated" href="${item.canvas.toDataURL("image/png")}"/>`,
      );
    } else {
      body.push(`<g transform="translate(${n(item.x)} ${n(item.y)})">${item.markup}</g>`);
    }
  }
  const heading = title ? `<title>${escapeXml(title)}</title>` : "";
  return (
    `<svg xmlns="${SVG_NS}" width="${scene.width}" height="${scene.height}" viewBox="0 0 ${scene.width} ${scene.height}">` +
    `${heading}<defs>${defs.join("")}</defs>${body.join("")}</svg>`
  );
}

function loadSvg(markup: string): Promise<HTMLImageElement> {
  const url = URL.createObjectURL(new Blob([markup], { type: "image/svg+xml" }));
  const img = new Image();
  img.src = url;
  return img.decode().then(
    () => {
      URL.revokeObjectURL(url);
      return img;
    },
    (err) => {
      URL.revokeObjectURL(url);
      throw err;
    },
  );
}

/**
 * The scene painted on a canvas `scale` times its CSS size. Canvases are copied with nearest-neighbour scaling at
 * whole device pixels, so a heatmap's pixels in the picture are its canvas's pixels repeated.
 */
export async function sceneToCanvas(scene: Scene, scale = 2): Promise<HTMLCanvasElement> {
  const out = document.createElement("canvas");
  out.width = Math.round(scene.width * scale);
  out.height = Math.round(scene.height * scale);
  const ctx = out.getContext("2d");
  if (!ctx) throw new Error("no 2D canvas context for the export");
  ctx.fillStyle = scene.background;
  ctx.fillRect(0, 0, out.width, out.height);
  const snap = (v: number) => Math.round(v * scale);
  for (const item of scene.items) {
    if (item.kind === "box") {
      const path = new Path2D();
      path.roundRect(item.x * scale, item.y * scale, item.w * scale, item.h * scale, item.radius * scale);
      if (item.fill) {
        ctx.fillStyle = item.fill;
        ctx.fill(path);
      }
      if (item.gradient.length > 0) {
        const g = ctx.createLinearGradient(item.x * scale, 0, (item.x + item.w) * scale, 0);
        const last = Math.max(1, item.gradient.length - 1);
        item.gradient.forEach((c, i) => g.addColorStop(i / last, c));
        ctx.fillStyle = g;
        ctx.fill(path);
      }
      if (item.stroke) {
        ctx.strokeStyle = item.stroke;
        ctx.lineWidth = item.strokeWidth * scale;
        ctx.stroke(path);
      }
    } else if (item.kind === "text") {
      ctx.font = `${item.style} ${item.weight} ${item.size * scale}px ${item.family}`;
      ctx.fillStyle = item.color;
      ctx.textBaseline = "alphabetic";
      ctx.fillText(item.text, item.x * scale, item.y * scale);
    } else if (item.kind === "canvas") {
      ctx.imageSmoothingEnabled = item.canvas.width * 1.0001 > item.w * scale; // smooth only when shrinking
      const [x, y] = [snap(item.x), snap(item.y)];
      ctx.drawImage(item.canvas, x, y, snap(item.x + item.w) - x, snap(item.y + item.h) - y);
    } else {
      const img = await loadSvg(item.markup);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(img, item.x * scale, item.y * scale, item.w * scale, item.h * scale);
    }
  }
  return out;
}
