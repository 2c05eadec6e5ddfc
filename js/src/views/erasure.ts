/**
 * The erasure test of Serrano and Smith, "Is Attention Interpretable?" (2019), as a table: per ranking, how many
 * tokens had to be removed from its top before the decision flipped, and how much the output moved.
 */
import { h } from "../core/dom";
import type { View } from "../core/view";
import type { TextKey, TextStore } from "../traits/text";

export function createErasure(store: TextStore): View<TextKey> {
  const body = h("tbody", {});
  const caption = h("div", { class: "aw-erasure-caption" });
  const table = h(
    "table",
    { class: "aw-erasure-table" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "ranking"),
        h("th", { scope: "col", title: "Tokens removed from the top of the ranking when the decision first flipped" }, "removed before the flip"),
        h("th", { scope: "col", title: "Jensen-Shannon divergence of the output at the flip (ln 2 = total change)" }, "JS at flip"),
        h("th", { scope: "col", title: "JS divergence after removing only the ranking's top token" }, "JS, top token only"),
      ),
    ),
    body,
  );
  const flipCaption = h("div", { class: "aw-erasure-caption" });
  const flipCells = {
    both: h("td", { "data-cell": "both" }),
    top_only: h("td", { "data-cell": "top_only" }),
    random_only: h("td", { "data-cell": "random_only" }),
    neither: h("td", { "data-cell": "neither" }),
  };
  const flipTable = h(
    "table",
    { class: "aw-erasure-table aw-flip-table" },
    h(
      "thead",
      {},
      h("tr", {}, h("th", {}, ""), h("th", { scope: "col" }, "random token: flips"), h("th", { scope: "col" }, "random token: no flip")),
    ),
    h(
      "tbody",
      {},
      h("tr", {}, h("th", { scope: "row" }, "i* removed: flips"), flipCells.both, flipCells.top_only),
      h("tr", {}, h("th", { scope: "row" }, "i* removed: no flip"), flipCells.random_only, flipCells.neither),
    ),
  );
  const flips = h("div", { class: "aw-flips" }, flipCaption, flipTable);
  const el = h("div", { class: "aw-erasure" }, h("div", { class: "aw-field-label" }, "Erasure test"), caption, table, flips);

  function update(changed: Set<TextKey>): void {
    if (!changed.has("shown") && !changed.has("erasure") && !changed.has("labels")) return;
    const panel = store.shown?.erasure ?? null;
    el.hidden = !store.get("erasure") || panel === null;
    if (panel === null) return;
    const decision = store.get("labels")[panel.decision] ?? String(panel.decision);
    caption.textContent =
      `Tokens removed (through the attention mask) from the top of each ranking until the decision “${decision}” ` +
      `flips; fewer is a ranking that finds what the decision rests on (Serrano and Smith, “Is Attention ` +
      `Interpretable?”, 2019). ${panel.erasable} removable tokens; special tokens stay.`;
    const counts = panel.flip_table ?? null;
    flips.hidden = counts === null;
    if (counts !== null) {
      flipCaption.textContent =
        `Over the ${counts.texts} texts of this widget: does removing only the token with the most attention (i*) ` +
        `flip the decision, and does removing one random token? Serrano and Smith's 2×2 table: if attention ` +
        `explained the decisions, i* would flip far more often than a random token.`;
      for (const key of ["both", "top_only", "random_only", "neither"] as const) {
        const n = counts[key];
        flipCells[key].textContent = `${n} (${Math.round((100 * n) / Math.max(1, counts.texts))} %)`;
      }
    }
    const best = Math.min(...panel.rankings.map((r) => (r.flipped ? r.removed : Infinity)));
    body.replaceChildren(
      ...panel.rankings.map((row) => {
        const removed = row.flipped
          ? `${row.removed} of ${panel.erasable} (${Math.round((row.fraction ?? 0) * 100)} %)`
          : "never flips";
        return h(
          "tr",
          { class: row.flipped && row.removed === best ? "aw-erasure-best" : "", "data-ranking": row.name },
          h("th", { scope: "row" }, row.label),
          h("td", {}, removed),
          h("td", {}, row.js.toFixed(3)),
          h("td", {}, row.js_top.toFixed(3)),
        );
      }),
    );
  }

  return { el, update, dispose: () => undefined };
}
