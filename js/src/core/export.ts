/**
 * The export menu every widget's header carries (mounted by `mountWidget`): PNG of the figure at 2× its screen
 * size, SVG of the same figure (vector where the view is: text, boxes, charts; a heatmap stays pixels inside it),
 * and JSON of `w.to_dict()` (the settings and figures on screen, enough to replay the call with
 * `aw.attribute(**settings)`). Everything is made in the page: it works in a saved view without a kernel.
 */
import { canvasLayout, captureScene, type Scene, sceneToCanvas, sceneToSvg } from "./figure";
import { Disposer, h } from "./dom";
import type { ExportSettings } from "./protocol";

/** What the menu needs of a widget: its figure's parts, a file name stem and the synced settings. */
export interface FigureSource {
  /** The elements that make the picture (title, heatmap or tokens, legend), in reading order. */
  parts: HTMLElement[];
  /** File name without suffix, e.g. "attribution-saliency". */
  name(): string;
  settings(): ExportSettings | null;
}

export const PNG_SCALE = 2;

/** A file name stem from a widget kind and its settings' method (letters, digits, `-`, `_` only). */
export function fileStem(kind: string, settings: ExportSettings | null): string {
  const method = settings?.settings?.method ?? settings?.controls?.method;
  const stem = typeof method === "string" && method ? `${kind}-${method}` : kind;
  return stem.replace(/[^A-Za-z0-9_-]+/g, "_");
}

/** Hand `blob` to the browser as a download named `filename`. */
export function download(blob: Blob, filename: string, doc: Document = document): void {
  const url = URL.createObjectURL(blob);
  const a = doc.createElement("a");
  a.href = url;
  a.download = filename;
  a.style.display = "none";
  doc.body.append(a);
  a.click();
  a.remove();
  // Revoked later: the download reads the URL after this call returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The figure as laid out now; its size and where its canvases went are written on `record` (data-last-export). */
function capture(source: FigureSource, record?: HTMLElement): Scene {
  const scene = captureScene(source.parts);
  if (record) record.dataset.lastExport = JSON.stringify({ width: scene.width, height: scene.height, canvases: canvasLayout(scene) });
  return scene;
}

export async function exportPng(source: FigureSource, scale = PNG_SCALE, record?: HTMLElement): Promise<Blob> {
  const canvas = await sceneToCanvas(capture(source, record), scale);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the browser made no PNG"))), "image/png"),
  );
}

export function exportSvg(source: FigureSource, record?: HTMLElement): Blob {
  const svg = sceneToSvg(capture(source, record), source.name());
  return new Blob([`<?xml version="1.0" encoding="UTF-8"?>\n${svg}`], { type: "image/svg+xml" });
}

export function exportJson(source: FigureSource): Blob {
  return new Blob([`${JSON.stringify(source.settings(), null, 2)}\n`], { type: "application/json" });
}

type Format = "png" | "svg" | "json";

const ITEMS: { format: Format; label: string; title: string }[] = [
  { format: "png", label: `PNG (${PNG_SCALE}×)`, title: `the figure as a PNG at ${PNG_SCALE}× its size on screen` },
  { format: "svg", label: "SVG", title: "the figure as SVG: text and charts as vectors, a heatmap as its pixels" },
  { format: "json", label: "JSON (settings)", title: "w.to_dict(): the settings and figures on screen; replay with aw.attribute(**settings)" },
];

/**
 * The "Export" button and its menu. The button is marked `data-control="export"`, which stays usable when the
 * kernel is gone: the picture on screen can still be saved.
 */
export function createExportMenu(source: FigureSource): { el: HTMLElement; dispose(): void } {
  const disposer = new Disposer();
  const button = h(
    "button",
    { class: "aw-export-button", type: "button", "aria-haspopup": "menu", "aria-expanded": "false", title: "export the figure" },
    "Export",
  );
  const menu = h("div", { class: "aw-export-menu", role: "menu" });
  menu.hidden = true;
  const status = h("span", { class: "aw-export-status", role: "status" });
  const el = h("div", { class: "aw-export", "data-control": "export" }, button, menu, status);

  function setOpen(open: boolean): void {
    menu.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  }

  async function run(format: Format): Promise<void> {
    setOpen(false);
    const name = source.name();
    try {
      if (format === "png") download(await exportPng(source, PNG_SCALE, el), `${name}.png`, el.ownerDocument);
      else if (format === "svg") download(exportSvg(source, el), `${name}.svg`, el.ownerDocument);
      else download(exportJson(source), `${name}.json`, el.ownerDocument);
      status.textContent = "";
    } catch (err) {
      status.textContent = `export failed: ${err instanceof Error ? err.message : String(err)}`;
      console.error("attr_widgets export failed", err);
    }
  }

  for (const item of ITEMS) {
    const entry = h("button", { class: "aw-export-item", type: "button", role: "menuitem", "data-format": item.format, title: item.title }, item.label);
    disposer.listen(entry, "click", () => void run(item.format));
    menu.append(entry);
  }
  disposer.listen(button, "click", () => setOpen(menu.hidden));
  disposer.listen(el, "keydown", (event) => {
    if (event.key === "Escape") setOpen(false);
  });
  const outside = (event: MouseEvent) => {
    if (!el.contains(event.target as Node)) setOpen(false);
  };
  el.ownerDocument.addEventListener("mousedown", outside);
  disposer.add(() => el.ownerDocument.removeEventListener("mousedown", outside));
  return { el, dispose: () => disposer.dispose() };
}
