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
  const el = h("div", { class: "aw-erasure" }, h("div", { class: "aw-field-label" }, "Erasure test"), caption, table);

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
