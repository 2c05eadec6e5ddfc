/**
 * Deletion and insertion curves (Petsiuk, Das and Saenko, "RISE", 2018) with their AUC and a random-order reference,
 * linked to the heatmap: hovering a point marks on the image the pixels that are replaced by the baseline at that
 * fraction (deletion: those removed so far; insertion: those not inserted yet).
 */
import type { CurveFigure } from "../../traits/attribution";
import { legendRow, lineChart, svg } from "./charts";

/** Flat pixel indices replaced by the baseline at point `index` of the curve. */
export function replacedAt(figure: CurveFigure, index: number): number[] {
  const count = figure.counts[Math.max(0, Math.min(index, figure.counts.length - 1))];
  return figure.name === "deletion" ? figure.order.slice(0, count) : figure.order.slice(count);
}

/** The index of the point nearest to a fraction. */
export function nearestPoint(fractions: number[], fraction: number): number {
  let best = 0;
  fractions.forEach((f, i) => {
    if (Math.abs(f - fraction) < Math.abs(fractions[best] - fraction)) best = i;
  });
  return best;
}

export function curveCard(figure: CurveFigure, onHover: (pixels: number[] | null, index: number | null) => void): HTMLElement {
  const verb = figure.name === "deletion" ? "removed" : "inserted";
  const chart = lineChart(
    [
      { name: "attribution order", cls: "aw-eval-s0", x: figure.fractions, y: figure.scores },
      { name: "random order", cls: "aw-eval-random", x: figure.fractions, y: figure.random_scores, dashed: true },
    ],
    {
      title: `${figure.name} curve: target probability vs fraction of pixels ${verb}`,
      kind: figure.name,
      xLabel: `fraction of pixels ${verb}`,
      yLabel: "probability",
      yRange: [0, 1],
    },
  );
  const root = chart.el;
  const guide = svg("line", { class: "aw-eval-guide", y1: chart.y(1), y2: chart.y(0), x1: 0, x2: 0, visibility: "hidden" });
  const dot = svg("circle", { class: "aw-eval-dot", r: 3.5, cx: 0, cy: 0, visibility: "hidden" });
  root.append(guide, dot);
  const readout = document.createElement("div");
  readout.className = "aw-eval-readout";
  readout.textContent = `hover the curve to see the pixels ${verb} on the image`;
  // One hover strip per point, so the pointer anywhere in the plot picks the nearest fraction.
  const n = figure.fractions.length;
  figure.fractions.forEach((f, i) => {
    const left = i === 0 ? chart.x(f) : (chart.x(figure.fractions[i - 1]) + chart.x(f)) / 2;
    const right = i === n - 1 ? chart.x(f) + 1 : (chart.x(f) + chart.x(figure.fractions[i + 1])) / 2;
    const strip = svg("rect", {
      class: "aw-eval-hit",
      x: left,
      y: chart.y(1),
      width: Math.max(1, right - left),
      height: chart.y(0) - chart.y(1),
      "data-point": i,
    });
    strip.addEventListener("pointerenter", () => {
      guide.setAttribute("x1", String(chart.x(f)));
      guide.setAttribute("x2", String(chart.x(f)));
      guide.setAttribute("visibility", "visible");
      dot.setAttribute("cx", String(chart.x(f)));
      dot.setAttribute("cy", String(chart.y(figure.scores[i])));
      dot.setAttribute("visibility", "visible");
      readout.textContent =
        `${Math.round(f * 100)} % ${verb} (${figure.counts[i]} px): p = ${figure.scores[i].toFixed(3)}, ` +
        `random order ${figure.random_scores[i].toFixed(3)}`;
      root.dataset.hovered = String(i);
      onHover(replacedAt(figure, i), i);
    });
    root.append(strip);
  });
  root.addEventListener("pointerleave", () => {
    guide.setAttribute("visibility", "hidden");
    dot.setAttribute("visibility", "hidden");
    delete root.dataset.hovered;
    readout.textContent = `hover the curve to see the pixels ${verb} on the image`;
    onHover(null, null);
  });
  const head = document.createElement("div");
  head.className = "aw-eval-card-head";
  const title = document.createElement("span");
  title.className = "aw-eval-card-title";
  title.textContent = figure.name === "deletion" ? "Deletion" : "Insertion";
  const auc = document.createElement("span");
  auc.className = "aw-eval-auc";
  auc.dataset.auc = String(figure.auc);
  const good = figure.better === "lower" ? figure.auc < figure.random_auc : figure.auc > figure.random_auc;
  auc.classList.add(good ? "aw-eval-good" : "aw-eval-poor");
  auc.textContent = `AUC ${figure.auc.toFixed(3)} · random ${figure.random_auc.toFixed(3)} (${figure.better} is better)`;
  head.append(title, auc);
  const card = document.createElement("div");
  card.className = "aw-eval-card";
  card.dataset.figure = figure.name;
  card.append(
    head,
    root,
    legendRow([
      { name: "attribution order", cls: "aw-eval-s0" },
      { name: "random order", cls: "aw-eval-random", dashed: true },
    ]),
    readout,
  );
  return card;
}
