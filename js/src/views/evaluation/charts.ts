/**
 * Dependency-free SVG line charts for the evaluation panel (no chart library, so the widget works offline with no
 * CDN request): linear or log axes, several series, optional marked point, and one hover target per x position.
 */

const SVG_NS = "http://www.w3.org/2000/svg";
export const WIDTH = 300;
export const HEIGHT = 150;
const PAD = { left: 42, right: 10, top: 10, bottom: 30 };

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  text?: string,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A map from data to pixels on one axis: linear, or log10 (non-positive values clamp to the smallest). */
export interface Scale {
  (v: number): number;
  ticks: number[];
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const step = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 5, 10].map((m) => m * step).find((s) => raw <= s) ?? step * 10;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / unit) * unit; t <= hi + unit * 1e-9; t += unit) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

export function linearScale(lo: number, hi: number, from: number, to: number): Scale {
  const span = hi > lo ? hi - lo : 1;
  const scale = ((v: number) => from + ((v - lo) / span) * (to - from)) as Scale;
  scale.ticks = niceTicks(lo, hi, 4);
  return scale;
}

export function logScale(lo: number, hi: number, from: number, to: number): Scale {
  const a = Math.log10(lo);
  const b = Math.log10(hi > lo ? hi : lo * 10);
  const scale = ((v: number) => from + ((Math.log10(Math.max(v, lo)) - a) / (b - a)) * (to - from)) as Scale;
  scale.ticks = [];
  const decades = Math.floor(b) - Math.ceil(a);
  const every = Math.max(1, Math.ceil(decades / 4)); // at most five labels
  for (let e = Math.floor(b); e >= Math.ceil(a); e -= every) scale.ticks.unshift(Number(`1e${e}`)); // exact decades
  if (scale.ticks.length === 0) scale.ticks = [lo, hi];
  return scale;
}

export function compact(value: number): string {
  const size = Math.abs(value);
  if (value === 0) return "0";
  if (size >= 1e4 || size < 0.01) return value.toExponential(0);
  return size >= 100 ? value.toFixed(0) : String(Number(value.toPrecision(2)));
}

export interface Series {
  name: string;
  /** CSS class of the line (colour in styles.css). */
  cls: string;
  x: number[];
  y: number[];
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  kind: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  /** Fixed y range (e.g. [0, 1] for a probability); else the data's range. */
  yRange?: [number, number];
  /** A point to ring (e.g. the current n_steps on the current rule). */
  mark?: { x: number; y: number; label: string };
}

export interface Chart {
  el: SVGSVGElement;
  x: Scale;
  y: Scale;
}

function positive(values: number[]): number[] {
  return values.filter((v) => Number.isFinite(v) && v > 0);
}

/** Draw series on shared axes; `y` values that are not finite (or ≤ 0 on a log axis) leave a gap. */
export function lineChart(series: Series[], options: ChartOptions): Chart {
  const root = svg("svg", {
    class: "aw-eval-chart",
    "data-chart": options.kind,
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: WIDTH,
    height: HEIGHT,
    role: "img",
    "aria-label": options.title,
  });
  root.append(svg("title", {}, options.title));
  const xs = series.flatMap((s) => s.x);
  const ys = series.flatMap((s) => s.y).filter((v) => Number.isFinite(v));
  const x0 = PAD.left;
  const x1 = WIDTH - PAD.right;
  const y0 = HEIGHT - PAD.bottom;
  const y1 = PAD.top;
  const xPos = options.logX ? positive(xs) : xs;
  const yPos = options.logY ? positive(ys) : ys;
  const [xlo, xhi] = [Math.min(...xPos, options.logX ? 1 : 0), Math.max(...xPos, options.logX ? 10 : 1)];
  const yhiData = yPos.length ? Math.max(...yPos) : 1;
  const yloData = yPos.length ? Math.min(...yPos) : 0;
  const [ylo, yhi] = options.yRange ?? (options.logY ? [Math.max(yloData, yhiData * 1e-12), yhiData] : [Math.min(yloData, 0), Math.max(yhiData, 1e-12)]);
  const x = options.logX ? logScale(xlo, xhi, x0, x1) : linearScale(xlo, xhi, x0, x1);
  const y = options.logY ? logScale(ylo, yhi, y0, y1) : linearScale(ylo, yhi, y0, y1);

  for (const t of y.ticks) {
    root.append(svg("line", { class: "aw-eval-grid", x1: x0, x2: x1, y1: y(t), y2: y(t) }));
    root.append(svg("text", { class: "aw-eval-tick", x: x0 - 4, y: y(t) + 3, "text-anchor": "end" }, compact(t)));
  }
  for (const t of x.ticks) {
    root.append(svg("text", { class: "aw-eval-tick", x: x(t), y: y0 + 12, "text-anchor": "middle" }, compact(t)));
  }
  root.append(svg("line", { class: "aw-eval-axis", x1: x0, y1: y0, x2: x1, y2: y0 }));
  root.append(svg("line", { class: "aw-eval-axis", x1: x0, y1: y1, x2: x0, y2: y0 }));
  root.append(svg("text", { class: "aw-eval-label", x: (x0 + x1) / 2, y: HEIGHT - 4, "text-anchor": "middle" }, options.xLabel));
  root.append(
    svg("text", { class: "aw-eval-label", x: 10, y: (y0 + y1) / 2, "text-anchor": "middle", transform: `rotate(-90 10 ${(y0 + y1) / 2})` }, options.yLabel),
  );

  for (const s of series) {
    let d = "";
    let pen = false;
    s.x.forEach((xv, i) => {
      const yv = s.y[i];
      const ok = Number.isFinite(yv) && (!options.logY || yv > 0) && (!options.logX || xv > 0);
      if (!ok) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(xv).toFixed(1)},${y(yv).toFixed(1)}`;
      pen = true;
    });
    const path = svg("path", { class: `aw-eval-line ${s.cls}`, d, "data-series": s.name });
    if (s.dashed) path.setAttribute("stroke-dasharray", "4 3");
    root.append(path);
  }
  if (options.mark) {
    const { x: mx, y: my, label } = options.mark;
    const ring = svg("circle", { class: "aw-eval-mark", cx: x(mx), cy: y(my), r: 4.5, "data-mark": "current" });
    ring.append(svg("title", {}, label));
    root.append(ring);
  }
  return { el: root, x, y };
}

/** A legend under a chart: one swatch per series. */
export function legendRow(series: { name: string; cls: string; dashed?: boolean }[]): HTMLElement {
  const row = document.createElement("div");
  row.className = "aw-eval-legend";
  for (const s of series) {
    const item = document.createElement("span");
    item.className = "aw-eval-key";
    const swatch = document.createElement("span");
    swatch.className = `aw-eval-swatch ${s.cls}${s.dashed ? " aw-eval-dashed" : ""}`;
    item.append(swatch, s.name);
    row.append(item);
  }
  return row;
}
