import type { RenderProps } from "@anywidget/types";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fileStem } from "../src/core/export";
import { alphaOf, gradientStops, type Scene, sceneToSvg } from "../src/core/figure";
import type { ExportSettings } from "../src/core/protocol";
import widget from "../src/entries/attribution";
import type { AttributionWidgetTraits } from "../src/traits/attribution";
import { FakeModel, traits } from "./fake_model";

afterEach(() => {
  document.body.replaceChildren();
  vi.restoreAllMocks();
});

const settings = (method: unknown) =>
  ({ widget: "AttributionWidget", version: 1, controls: {}, view: {}, call: "attribute", settings: { method }, not_serialised: {}, figures: {} }) as ExportSettings;

describe("figure scene: colours read from computed styles", () => {
  it("alpha of rgb / rgba / transparent", () => {
    expect(alphaOf("rgb(1, 2, 3)")).toBe(1);
    expect(alphaOf("rgba(1, 2, 3, 0.25)")).toBe(0.25);
    expect(alphaOf("rgba(0, 0, 0, 0)")).toBe(0);
    expect(alphaOf("transparent")).toBe(0);
  });

  it("gradient stops in order, none for a plain background", () => {
    const css = "linear-gradient(to right, rgba(5, 48, 97, 0.85), rgb(255, 255, 255), rgba(103, 0, 13, 0.85))";
    expect(gradientStops(css)).toEqual(["rgba(5, 48, 97, 0.85)", "rgb(255, 255, 255)", "rgba(103, 0, 13, 0.85)"]);
    expect(gradientStops("none")).toEqual([]);
  });
});

describe("scene to SVG", () => {
  const canvas = document.createElement("canvas");
  canvas.toDataURL = () => "data:image/png;base64,AAAA";
  const scene: Scene = {
    width: 100,
    height: 40,
    background: "rgb(17, 17, 17)",
    items: [
      { kind: "box", x: 0, y: 0, w: 50, h: 10, fill: "rgb(1, 2, 3)", gradient: ["rgb(0, 0, 255)", "rgb(255, 0, 0)"], radius: 2, stroke: null, strokeWidth: 0 },
      { kind: "text", x: 1, y: 12, text: "<b>&\"x\"", font: "", size: 13, family: "monospace", weight: "400", style: "normal", color: "rgb(0, 0, 0)" },
      { kind: "canvas", x: 10, y: 20, w: 16, h: 16, canvas },
      { kind: "svg", x: 30, y: 5, w: 20, h: 20, markup: '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="3" height="3"/></svg>' },
    ],
  };
  const doc = new DOMParser().parseFromString(sceneToSvg(scene, "a & b"), "image/svg+xml");

  it("is well-formed XML whose text is the token text, escaped, never markup", () => {
    expect(doc.querySelector("parsererror")).toBeNull();
    const texts = [...doc.querySelectorAll("text")];
    expect(texts.map((t) => t.textContent)).toEqual(['<b>&"x"']);
    expect(doc.querySelector("b")).toBeNull();
    expect(doc.querySelector("title")!.textContent).toBe("a & b");
  });

  it("draws the page's background, the box's fill then its gradient, the canvas as a crisp image, the chart in place", () => {
    const rects = [...doc.documentElement.children].filter((c) => c.tagName === "rect");
    expect(rects[0].getAttribute("fill")).toBe("rgb(17, 17, 17)");
    expect(rects[1].getAttribute("fill")).toBe("rgb(1, 2, 3)");
    expect(rects[2].getAttribute("fill")).toBe("url(#aw-gradient-0)");
    const stops = [...doc.querySelectorAll("linearGradient stop")].map((s) => [s.getAttribute("offset"), s.getAttribute("stop-color")]);
    expect(stops).toEqual([["0", "rgb(0, 0, 255)"], ["1", "rgb(255, 0, 0)"]]);
    const image = doc.querySelector("image")!;
    expect([image.getAttribute("href"), image.getAttribute("image-rendering"), image.getAttribute("width")]).toEqual([
      "data:image/png;base64,AAAA",
      "pixelated",
      "16",
    ]);
    expect(doc.querySelector("g")!.getAttribute("transform")).toBe("translate(30 5)");
    expect(doc.querySelector("g > svg > rect")).not.toBeNull();
  });
});

describe("export menu", () => {
  it("names files by widget kind and method, safely", () => {
    expect(fileStem("attribution", settings("integrated_gradients"))).toBe("attribution-integrated_gradients");
    expect(fileStem("text", settings("../x y"))).toBe("text-_x_y");
    expect(fileStem("directions", null)).toBe("directions");
  });

  function mount(model: FakeModel): HTMLElement {
    const el = document.createElement("div");
    document.body.append(el);
    widget.render({ model: model.asModel(), el, experimental: {} } as unknown as RenderProps<AttributionWidgetTraits>);
    return el;
  }

  it("opens from the header, downloads w.to_dict() as JSON, and stays usable without a kernel", async () => {
    const exported = settings("saliency");
    const model = new FakeModel(traits({ export_settings: exported }));
    const el = mount(model);
    const button = el.querySelector<HTMLButtonElement>(".aw-status .aw-export-button")!;
    const menu = el.querySelector<HTMLElement>(".aw-export-menu")!;
    expect(menu.hidden).toBe(true);
    button.click();
    expect([menu.hidden, button.getAttribute("aria-expanded")]).toEqual([false, "true"]);
    expect([...menu.querySelectorAll("button")].map((b) => b.dataset.format)).toEqual(["png", "svg", "json"]);

    const blobs: Blob[] = [];
    const names: string[] = [];
    URL.createObjectURL = vi.fn((blob: Blob) => (blobs.push(blob), "blob:x"));
    URL.revokeObjectURL = vi.fn();
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      names.push(this.download);
    });
    menu.querySelector<HTMLButtonElement>('[data-format="json"]')!.click();
    await Promise.resolve();
    expect(names).toEqual(["attribution-saliency.json"]);
    const text = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result as string);
      reader.readAsText(blobs[0]);
    });
    expect(JSON.parse(text)).toEqual(exported);
    expect(menu.hidden).toBe(true);

    (model as unknown as { comm_live: boolean }).comm_live = false; // the kernel is gone
    model.fireEvent("comm_live_update");
    expect(el.querySelector(".aw-root")!.getAttribute("data-connected")).toBe("false");
    expect(el.querySelector<HTMLButtonElement>(".aw-target")?.disabled ?? true).toBe(true);
    expect(button.disabled).toBe(false); // the picture on screen can still be saved
    button.click();
    expect(menu.hidden).toBe(false);
    document.body.dispatchEvent(new MouseEvent("mousedown", { bubbles: true }));
    expect(menu.hidden).toBe(true); // a click elsewhere closes it
  });
});
