/**
 * The evaluation panel's other figures: convergence (|delta| vs n_steps per integration rule, log scales), the sanity
 * check of Adebayo et al. ("Sanity Checks for Saliency Maps", 2018) with the randomised maps as thumbnails, the axiom
 * report (Sundararajan, Taly and Yan, "Axiomatic Attribution for Deep Networks", 2017) beside the method's theory,
 * and infidelity / max-sensitivity (Yeh et al., "On the (In)fidelity and Sensitivity of Explanations", 2019).
 */
import { decodeHeatmap, type RgbaImage } from "../../core/codecs";
import { composite, scaleExtent, type SignMode } from "../../core/colorscale";
import { h } from "../../core/dom";
import type { AxiomsFigure, ConvergenceFigure, NumberFigure, SanityFigure } from "../../traits/attribution";
import { legendRow, lineChart } from "./charts";

const RULE_LABELS: Record<string, string> = {
  gausslegendre: "Gauss–Legendre",
  riemann_left: "Riemann left",
  riemann_right: "Riemann right",
  riemann_middle: "Riemann middle",
  riemann_trapezoid: "trapezoid",
};

const AXIOM_LABELS: Record<string, string> = {
  completeness: "completeness",
  sensitivity_a: "sensitivity (a)",
  sensitivity_b: "sensitivity (b), dummy",
  implementation_invariance: "implementation invariance",
  linearity: "linearity",
  symmetry_preserving: "symmetry",
};

function card(name: string, title: string, ...children: (Node | string)[]): HTMLElement {
  return h(
    "div",
    { class: "aw-eval-card", "data-figure": name },
    h("div", { class: "aw-eval-card-head" }, h("span", { class: "aw-eval-card-title" }, title)),
    ...children,
  );
}

export function convergenceCard(figure: ConvergenceFigure): HTMLElement {
  if (!figure.applicable) return card("convergence", "Convergence", h("p", { class: "aw-eval-note" }, figure.reason));
  const rules = Object.entries(figure.rules);
  const series = rules.map(([rule, c], i) => ({
    name: RULE_LABELS[rule] ?? rule,
    cls: `aw-eval-s${i}`,
    x: c.n_steps,
    y: c.delta,
  }));
  const current = figure.rules[figure.current.rule];
  let mark;
  if (current) {
    // The current n_steps is marked where it was measured, or at the nearest measured step count.
    const at = current.n_steps.reduce((best, n, i) =>
      Math.abs(Math.log(n / figure.current.n_steps)) < Math.abs(Math.log(current.n_steps[best] / figure.current.n_steps)) ? i : best, 0);
    mark = { x: current.n_steps[at], y: current.delta[at], label: `current setting: ${RULE_LABELS[figure.current.rule] ?? figure.current.rule}, n_steps = ${figure.current.n_steps} (nearest measured: ${current.n_steps[at]})` };
  }
  const chart = lineChart(series, {
    title: "|delta| (completeness error) vs n_steps per integration rule",
    kind: "convergence",
    xLabel: "n_steps",
    yLabel: "|delta|",
    logX: true,
    logY: true,
    mark,
  });
  return card(
    "convergence",
    "Convergence",
    chart.el,
    legendRow(series),
    h("p", { class: "aw-eval-note" }, `|Σ attributions − (f(x) − f(baseline))| on this example as n_steps grows; the ring marks the current setting (n_steps = ${figure.current.n_steps}).`),
  );
}

function thumbnail(map: Float32Array, image: RgbaImage | null, width: number, height: number, mode: SignMode): HTMLCanvasElement {
  const canvas = h("canvas", { class: "aw-eval-thumb", width, height });
  const ctx = canvas.getContext("2d");
  if (!ctx) return canvas;
  const pixels = ctx.createImageData(width, height);
  const base = image && image.width === width && image.height === height ? image.data : new Uint8ClampedArray(width * height * 4).fill(255);
  composite(base, map, mode, scaleExtent(map, mode, 2), 0.9, pixels.data);
  ctx.putImageData(pixels, 0, 0);
  return canvas;
}

export function sanityCard(figure: SanityFigure, image: RgbaImage | null, original: Float32Array | null, mode: SignMode): HTMLElement {
  const steps = figure.layers.map((_, i) => i + 1);
  const chart = lineChart(
    [
      { name: "rank correlation", cls: "aw-eval-s0", x: steps, y: figure.spearman.map((v) => v ?? NaN) },
      { name: "rank correlation of |map|", cls: "aw-eval-s1", x: steps, y: figure.spearman_abs.map((v) => v ?? NaN) },
    ],
    { title: "Spearman rank correlation with the original map as layers are randomised from the top", kind: "sanity", xLabel: "layers randomised (from the output)", yLabel: "Spearman ρ", yRange: [-1, 1] },
  );
  const thumbs = h("div", { class: "aw-eval-thumbs" });
  if (original && image) {
    thumbs.append(h("figure", { class: "aw-eval-fig" }, thumbnail(original, image, image.width, image.height, mode), h("figcaption", {}, "original")));
  }
  figure.maps.forEach((packed, i) => {
    const map = decodeHeatmap(packed);
    const rho = figure.spearman_abs[i];
    thumbs.append(
      h(
        "figure",
        { class: "aw-eval-fig", "data-layer": figure.layers[i] },
        thumbnail(map.data, image, map.width, map.height, mode),
        h("figcaption", {}, `+ layer ${figure.layers[i]}`, h("br"), `ρ|·| ${rho === null ? "n/a" : rho.toFixed(2)}`),
      ),
    );
  });
  const verdict = figure.survives
    ? h("p", { class: "aw-eval-flag", "data-survives": "true" }, `⚠ The map survives randomisation: with every layer randomised, its rank correlation with the original is still above ${figure.threshold} — it reflects the input more than the model.`)
    : h("p", { class: "aw-eval-ok", "data-survives": "false" }, "✓ The map changes as the model is randomised: it depends on the learned weights.");
  return card(
    "sanity",
    "Sanity check (cascading randomisation)",
    chart.el,
    legendRow([{ name: "rank correlation", cls: "aw-eval-s0" }, { name: "of |map|", cls: "aw-eval-s1" }]),
    verdict,
    thumbs,
    h("p", { class: "aw-eval-note" }, "Adebayo et al., “Sanity Checks for Saliency Maps”, 2018: layers are re-initialised one after another from the output; an explanation of the model should decorrelate."),
  );
}

function theoryCell(value: boolean | null): HTMLElement {
  const text = value === true ? "holds" : value === false ? "violated" : "n/a";
  return h("td", { class: `aw-eval-theory aw-eval-theory-${text.replace("/", "")}` }, text);
}

export function axiomsCard(figure: AxiomsFigure): HTMLElement {
  const rows = figure.rows.map((row) => {
    const verdict = row.passed ? "pass" : "fail";
    const agrees = row.theory === null ? "" : row.theory === row.passed ? "agrees" : "differs";
    return h(
      "tr",
      { "data-axiom": row.axiom, "data-verdict": verdict },
      h("th", { scope: "row" }, AXIOM_LABELS[row.axiom] ?? row.axiom),
      h("td", { class: `aw-eval-verdict aw-eval-${verdict}` }, verdict),
      h("td", { class: "aw-eval-num", title: `${row.measure} (tolerance ${row.tolerance})` }, row.measured === null ? "—" : row.measured.toPrecision(3)),
      theoryCell(row.theory),
      h("td", { class: `aw-eval-agree aw-eval-${agrees || "na"}` }, agrees || "—"),
    );
  });
  return card(
    "axioms",
    "Axiom report",
    h(
      "table",
      { class: "aw-eval-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "axiom"), h("th", { scope: "col", title: "The probe on your model" }, "your model"), h("th", { scope: "col" }, "measured"), h("th", { scope: "col" }, "theory"), h("th", { scope: "col" }, ""))),
      h("tbody", {}, ...rows),
    ),
    h("p", { class: "aw-eval-note" }, `Probes of ${figure.method} on your model (Sundararajan, Taly and Yan, “Axiomatic Attribution for Deep Networks”, 2017); theory: ${figure.source}. Hover a figure for what it measures.`),
  );
}

export function numbersCard(infidelity: NumberFigure | undefined, sensitivity: NumberFigure | undefined): HTMLElement {
  const line = (name: string, label: string, f: NumberFigure | undefined) =>
    f
      ? h("div", { class: "aw-eval-number", "data-number": name }, h("span", { class: "aw-eval-number-label" }, label), h("span", { class: "aw-eval-number-value" }, f.value === null ? "—" : f.value.toPrecision(3)), h("span", { class: "aw-eval-note" }, f.meaning))
      : h("div", { class: "aw-eval-number", "data-number": name, hidden: true });
  return card(
    "numbers",
    "Infidelity and max-sensitivity",
    line("infidelity", "infidelity", infidelity),
    line("sensitivity", "max-sensitivity", sensitivity),
    h("p", { class: "aw-eval-note" }, "Yeh et al., “On the (In)fidelity and Sensitivity of Explanations”, 2019."),
  );
}
