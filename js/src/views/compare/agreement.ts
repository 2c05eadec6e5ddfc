/**
 * The agreement matrix: method × method rank correlation (Spearman's rho of |value|) or top-k feature agreement,
 * as the kernel computed them over the maps on screen (OpenXAI's measures). A click on a cell opens the two maps
 * side by side with their difference.
 */
import { colorOf } from "../../core/colorscale";
import { Disposer, h } from "../../core/dom";
import type { View } from "../../core/view";
import type { AgreementMetric, CompareKey, CompareStore } from "../../traits/compare";
import { field, segmented } from "../controls";

const METRICS = [
  { value: "spearman", label: "Rank correlation" },
  { value: "topk", label: "Top-k agreement" },
];

function captionText(metric: AgreementMetric, unit: string): string {
  return metric === "spearman"
    ? `Spearman's ρ between the rankings of |attribution| per ${unit} (1: same order, 0: unrelated)`
    : `fraction of the k ${unit}s with the largest |attribution| that both maps share`;
}

/** A cell's background: the diverging scale for ρ in [-1, 1], its positive half for fractions in [0, 1]. */
export function cellColour(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "transparent";
  const t = Math.max(-1, Math.min(1, value));
  const [r, g, b] = colorOf("signed", t);
  return `rgba(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)}, ${(0.12 + 0.6 * Math.abs(t)).toFixed(3)})`;
}

export function formatAgreement(value: number | null): string {
  return value === null || !Number.isFinite(value) ? "—" : value.toFixed(2);
}

export function createAgreement(store: CompareStore): View<CompareKey> {
  const disposer = new Disposer();
  const metric = segmented("agreement_metric", (v) => store.setLocal("metric", v as AgreementMetric), disposer);
  metric.setChoices(METRICS);
  const k = h("input", { type: "number", class: "aw-number", min: 1, step: 1, "data-control": "k", "aria-label": "k (top features)" });
  const kUnit = h("span", { class: "aw-other-label" }, "pixels");
  const kLabel = h("label", { class: "aw-other" }, h("span", {}, "k ="), k, kUnit);
  const table = h("table", { class: "aw-cmp-matrix", "data-control": "agreement" });
  const caption = h("div", { class: "aw-legend-caption aw-cmp-matrix-caption" });
  const empty = h("div", { class: "aw-cmp-note" });
  const el = h(
    "div",
    { class: "aw-cmp-agreement" },
    field("Agreement", metric.el),
    kLabel,
    table,
    empty,
    caption,
  );

  function commitK(): void {
    const n = Number(k.value);
    if (k.value !== "" && Number.isInteger(n)) store.setControl("k", n);
  }
  disposer.listen(k, "change", commitK);
  disposer.listen(k, "keydown", (event) => {
    if (event.key === "Enter") {
      commitK();
      k.blur();
    }
  });
  function openPair(target: EventTarget | null): void {
    const cell = (target as HTMLElement | null)?.closest<HTMLElement>("[data-row]");
    if (!cell || !table.contains(cell) || cell.dataset.row === cell.dataset.col) return;
    store.setLocal("pair", [cell.dataset.row ?? "", cell.dataset.col ?? ""], (a, b) => a === b || (a !== null && b !== null && a[0] === b[0] && a[1] === b[1]));
  }
  disposer.listen(table, "click", (event) => openPair(event.target));
  // The cells are focusable: Enter or Space opens the pair as a click does.
  disposer.listen(table, "keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    openPair(event.target);
  });

  function draw(): void {
    const which = store.local("metric");
    metric.select(which);
    kLabel.hidden = which !== "topk";
    const agreement = store.get("agreement_state");
    const shown = store.shown;
    const methods = store.get("options").methods;
    const labels = new Map(methods.map((m) => [m.value, m.short ?? m.label]));
    const ready = agreement && shown && agreement.seq === shown.seq;
    const values = ready ? (which === "spearman" ? agreement.spearman : agreement.topk) : null;
    const pair = store.local("pair");
    const names = agreement?.methods ?? methods.map((m) => m.value);
    const head = h("tr", {}, h("th", {}), ...names.map((n) => h("th", { scope: "col", title: labels.get(n) ?? n }, labels.get(n) ?? n)));
    const rows = names.map((row, i) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, labels.get(row) ?? row),
        ...names.map((col, j) => {
          const v = values?.[i]?.[j] ?? null;
          const on = pair !== null && ((pair[0] === row && pair[1] === col) || (pair[0] === col && pair[1] === row));
          const td = h(
            "td",
            {
              class: `aw-cmp-cell${i === j ? " aw-cmp-diag" : ""}${on ? " aw-on" : ""}`,
              "data-row": row,
              "data-col": col,
              "data-value": v === null ? "" : String(v),
              tabindex: i === j ? undefined : 0,
              title: i === j ? labels.get(row) ?? row : `${labels.get(row) ?? row} vs ${labels.get(col) ?? col}: click to compare`,
            },
            formatAgreement(v),
          );
          td.style.background = cellColour(v);
          return td;
        }),
      ),
    );
    table.replaceChildren(h("thead", {}, head), h("tbody", {}, ...rows));
    table.classList.toggle("aw-stale", !ready || store.busy);
    empty.hidden = Boolean(ready);
    empty.textContent = ready ? "" : "waiting for the maps…";
    const unit = store.get("kind") === "tabular" ? "feature" : "pixel";
    kUnit.textContent = `${unit}s`;
    caption.textContent = which === "topk" ? `${captionText(which, unit)} (k = ${agreement?.k ?? store.get("k")})` : captionText(which, unit);
  }

  function update(changed: Set<CompareKey>): void {
    if (changed.has("k") && document.activeElement !== k) k.value = String(store.get("k"));
    if (["agreement_state", "shown", "metric", "pair", "options", "busy", "k", "kind"].some((key) => changed.has(key as CompareKey))) draw();
  }

  return { el, update, dispose: () => disposer.dispose() };
}
