/** The example being moved, and the dataset examples with the highest and lowest coordinate along the selected
 * direction (thumbnails the kernel sends for that direction only). */
import { decodeRgba } from "../../core/codecs";
import { formatValue } from "../../core/colorscale";
import { Disposer, h } from "../../core/dom";
import type { BinaryArray } from "../../core/protocol";
import type { View } from "../../core/view";
import type { DirectionsKey, DirectionsStore } from "../../traits/directions";
import { unitColours } from "../tokens";

/** Draw an RGBA image (or item `index` of a stack [N, H, W, 4]) on a new canvas, scaled up without smoothing. */
export function imageCanvas(arr: BinaryArray, index: number | null, size: number, cls: string): HTMLCanvasElement {
  const stacked = index !== null;
  const [height, width] = stacked ? arr.shape.slice(1, 3) : arr.shape.slice(0, 2);
  const canvas = h("canvas", { class: cls, width, height });
  canvas.style.width = `${size}px`;
  canvas.style.height = `${Math.round((size * height) / width)}px`;
  const context = canvas.getContext("2d");
  if (context) {
    const bytes = height * width * 4;
    const view = stacked
      ? { ...arr, view: new DataView(arr.view.buffer, arr.view.byteOffset + bytes * index, bytes), shape: [height, width, 4] }
      : arr;
    const image = decodeRgba(view);
    context.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
  }
  return canvas;
}

/**
 * Texts: the example's tokens, each coloured by its coordinate along the selected direction (the diverging scale,
 * extent the largest |coordinate| in the text), the token the sliders move outlined.
 */
function drawTokens(box: HTMLElement, store: DirectionsStore): void {
  const shown = store.shown;
  const tokens = shown?.tokens ?? [];
  const coords = shown?.token_coords ?? [];
  const direction = store.get("direction");
  const values = coords.map((row) => row[direction] ?? 0);
  const extent = Math.max(1e-12, ...tokens.map((t, i) => (t.special ? 0 : Math.abs(values[i] ?? 0))));
  const pinned = store.get("position");
  const spans = tokens.flatMap((token, i) => {
    if (token.special) return [];
    const span = h("span", { class: "aw-tok aw-dir-tok", "data-position": i, title: `${token.text}: ${formatValue(values[i] ?? 0)}σ along d${direction + 1}` }, token.text);
    const colours = unitColours("signed", values[i] ?? 0, extent);
    if (colours) {
      span.style.background = colours.bg;
      span.style.color = colours.fg;
    }
    span.classList.toggle("aw-dir-pinned", i === pinned);
    return [span, " "];
  });
  const moved = pinned >= 0 && tokens[pinned] ? `the token “${tokens[pinned].text}” (click it again: every token)` : "every token (click one to move only it)";
  box.replaceChildren(
    h("div", { class: "aw-dir-tokens" }, ...spans),
    h("div", { class: "aw-dir-muted" }, `colour: coordinate along d${direction + 1}, ±${formatValue(extent)}σ · sliders move ${moved}`),
  );
}

export function createExampleImage(store: DirectionsStore): View<DirectionsKey> {
  const box = h("div", { class: "aw-dir-image" });
  const caption = h("div", { class: "aw-dir-muted" });
  const disposer = new Disposer();
  const input = h("input", { type: "number", class: "aw-dir-number", min: 0, step: 1, "data-control": "example", "aria-label": "example index" });
  disposer.listen(input, "change", () => {
    const value = Math.round(Number(input.value));
    if (Number.isFinite(value) && value >= 0 && value < store.get("n_examples")) store.setControl("example", value);
    else input.value = String(store.get("example"));
  });

  // Texts: a click on a token moves only that token (again: every token).
  disposer.listen(box, "click", (event) => {
    const token = (event.target as HTMLElement).closest<HTMLElement>("[data-position]");
    if (!token) return;
    const position = Number(token.dataset.position);
    store.setControl("position", store.get("position") === position ? -1 : position);
  });

  function update(changed: Set<DirectionsKey>): void {
    if (store.get("kind") === "tokens") {
      if (["shown", "direction", "position", "kind"].some((k) => changed.has(k as DirectionsKey))) drawTokens(box, store);
    } else if (changed.has("image")) {
      const image = store.get("image");
      box.replaceChildren(...(image ? [imageCanvas(image, null, 112, "aw-dir-canvas")] : []));
    }
    if (changed.has("example") || changed.has("n_examples")) {
      input.value = String(store.get("example"));
      input.max = String(store.get("n_examples") - 1);
      caption.textContent = `of ${store.get("n_examples")} examples`;
    }
  }

  const el = h(
    "div",
    { class: "aw-dir-panel aw-dir-example" },
    h("div", { class: "aw-dir-panel-title" }, "Example ", input),
    caption,
    box,
  );
  return { el, update, dispose: () => disposer.dispose() };
}

export function createExtremes(store: DirectionsStore): View<DirectionsKey> {
  const title = h("div", { class: "aw-dir-panel-title" });
  const rows = h("div", { class: "aw-dir-extremes" });
  const disposer = new Disposer();
  disposer.listen(rows, "click", (event) => {
    const item = (event.target as HTMLElement).closest<HTMLElement>("[data-example]");
    if (item) store.setControl("example", Number(item.dataset.example));
  });

  function update(changed: Set<DirectionsKey>): void {
    if (!changed.has("examples")) return;
    const examples = store.get("examples");
    if (!examples) {
      rows.replaceChildren();
      return;
    }
    title.textContent = `Direction d${examples.direction + 1}: top and bottom examples`;
    const snippets = examples.snippets;
    const item = (index: number, position: number) =>
      snippets
        ? h(
            "button",
            { type: "button", class: "aw-dir-snippet", "data-example": index, title: `example ${index} · ${examples.coords[position].toFixed(2)}σ` },
            h("span", { class: "aw-dir-muted" }, `${snippets[position].before.join(" ")} `),
            h("b", {}, snippets[position].token),
            h("span", { class: "aw-dir-muted" }, ` ${snippets[position].after.join(" ")}`),
          )
        : h(
        "button",
        { type: "button", class: "aw-dir-thumb", "data-example": index, title: `example ${index} · ${examples.coords[position].toFixed(2)}σ` },
        ...(examples.images ? [imageCanvas(examples.images, position, 40, "aw-dir-thumb-canvas")] : []),
        h("span", { class: "aw-dir-thumb-label" }, `#${index}`),
      );
    const ends = examples.top.length;
    rows.replaceChildren(
      h("div", { class: "aw-dir-thumb-row", "data-end": "top" }, h("span", { class: "aw-dir-muted" }, "highest"), ...examples.top.map((i, p) => item(i, p))),
      h("div", { class: "aw-dir-thumb-row", "data-end": "bottom" }, h("span", { class: "aw-dir-muted" }, "lowest"), ...examples.bottom.map((i, p) => item(i, ends + p))),
    );
  }

  const el = h("div", { class: "aw-dir-panel aw-dir-examples-panel" }, title, rows);
  return { el, update, dispose: () => disposer.dispose() };
}
