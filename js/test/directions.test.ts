import type { RenderProps } from "@anywidget/types";
import { afterEach, describe, expect, it } from "vitest";
import { sameControl } from "../src/core/store";
import widget from "../src/entries/directions";
import type { DirectionsWidgetTraits, Result } from "../src/traits/directions";
import { frameThrottle, offsetsFor } from "../src/views/directions/sliders";
import { formatDelta } from "../src/views/directions/output";
import { relative, shares } from "../src/views/directions/spectrum";
import { activity, FakeModel, rgba } from "./fake_model";

const COMPUTE_KEYS = ["data_version", "example", "k", "layer", "offsets", "project", "target"];

function dirResult(seq: number, extra: Partial<Result> = {}): Result {
  const merged: Result = {
    seq,
    controls: {},
    error: null,
    elapsed_ms: 5,
    k: 3,
    target: null,
    layer: "1",
    data_version: 0,
    example: 0,
    offsets: [0, 0, 0],
    project: false,
    n_directions: 3,
    n_samples: 100,
    n_features: 64,
    method: "exact",
    f_description: "each example's top class logit",
    spectrum: { important: [3, 2, 1], pca: [5, 1, 0.5] },
    objective: {
      important: [14, 5, 1, 0],
      pca: [14, 12, 9, 7],
      important_sampled: [10, 4, 1, 0.5],
      pca_sampled: [10, 9, 8, 6],
      sampled_examples: 100,
    },
    spreads: [1, 1, 1],
    top: [[1, 2], [3, 4], [5, 6]],
    bottom: [[7, 8], [9, 10], [11, 12]],
    f_before: 2,
    f_after: 2.5,
    explained_class: 1,
    coords: [0.5, -1, 0],
    coords_after: [0.5, -1, 0],
    attribution: [0.4, -0.2, 0],
    top_before: [
      { index: 1, label: "one", prob: 0.8 },
      { index: 0, label: "zero", prob: 0.2 },
    ],
    top_after: [
      { index: 1, label: "one", prob: 0.9 },
      { index: 0, label: "zero", prob: 0.1 },
    ],
    ...extra,
  };
  const controls: Record<string, unknown> = {};
  for (const key of COMPUTE_KEYS) controls[key] = merged[key as keyof Result];
  return { ...merged, controls };
}

function dirTraits(extra: Partial<DirectionsWidgetTraits> = {}): DirectionsWidgetTraits {
  const thumbs = new Uint8Array(4 * 2 * 2 * 4).fill(200);
  return {
    compute_keys: COMPUTE_KEYS,
    request_seq: 1,
    result: dirResult(1),
    activity: activity("idle"),
    notice: "",
    export_settings: null,
    k: 3,
    target: null,
    layer: "1",
    data_version: 0,
    example: 0,
    offsets: [0, 0, 0],
    project: false,
    position: -1,
    direction: 0,
    kind: "image",
    image: rgba(2, 2),
    examples: {
      direction: 0,
      top: [1, 2],
      bottom: [7, 8],
      coords: [2, 1.5, -2, -1.8],
      images: { view: new DataView(thumbs.buffer), dtype: "uint8", shape: [4, 2, 2, 4] },
    },
    labels: ["zero", "one"],
    layer_names: ["0", "1", "2"],
    n_examples: 100,
    ...extra,
  };
}

function mount(model: FakeModel<DirectionsWidgetTraits>): HTMLElement {
  const el = document.createElement("div");
  document.body.append(el);
  const props = { model: model.asModel(), el, experimental: {} } as unknown as RenderProps<DirectionsWidgetTraits>;
  widget.render(props);
  return el;
}

const last = <T>(items: T[]): T => items[items.length - 1];
const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));

function slide(el: HTMLElement, index: number, value: number): void {
  const range = el.querySelector<HTMLInputElement>(`[data-control="offset"][data-index="${index}"]`)!;
  range.value = String(value);
  range.dispatchEvent(new Event("input", { bubbles: true }));
}

afterEach(() => document.body.replaceChildren());

describe("DirectionsWidget view", () => {
  it("draws one slider per direction, the output panel, the spectrum SVG and the thumbnails", () => {
    const el = mount(new FakeModel(dirTraits()));
    expect(el.querySelectorAll('[data-control="offset"]')).toHaveLength(3);
    expect(el.querySelector('[data-field="f_before"]')?.textContent).toBe("2.000");
    expect(el.querySelector('[data-field="f_after"]')?.textContent).toBe("2.500");
    expect(el.querySelector('[data-field="delta_f"]')?.textContent).toBe("Δf +0.500");
    expect(el.querySelector(".aw-footer")?.textContent).toContain("computed in 5 ms");
    expect(el.querySelectorAll('[data-kind="after"] .aw-dir-top-item')).toHaveLength(2);
    expect(el.querySelectorAll('svg[data-chart="spectrum"] rect.aw-dir-important')).toHaveLength(3);
    expect(el.querySelectorAll('svg[data-chart="spectrum"] rect.aw-dir-pca')).toHaveLength(3);
    expect(el.querySelectorAll('svg[data-chart="objective"] polyline')).toHaveLength(2);
    expect(el.querySelectorAll('svg[data-chart="objective"] circle[data-kind="measured"]')).toHaveLength(8);
    expect(el.querySelectorAll(".aw-dir-thumb")).toHaveLength(4);
    expect(el.querySelector<HTMLElement>(".aw-root")!.dataset.busy).toBe("false");
    expect(el.querySelector(".aw-footer")?.textContent).toContain("Hilton");
  });

  it("sends slider moves once per animation frame, as offsets", async () => {
    const model = new FakeModel(dirTraits());
    const el = mount(model);
    slide(el, 0, 1);
    slide(el, 0, 1.5);
    slide(el, 2, -2);
    expect(model.saved).toEqual([]);
    await frame();
    expect(model.saved).toEqual([{ offsets: [1.5, 0, -2] }]);
    expect(el.querySelector<HTMLElement>(".aw-root")!.dataset.busy).toBe("true");
    // The kernel's answer for those offsets is current (arrays compare element by element).
    model.kernelSet("result", dirResult(2, { offsets: [1.5, 0, -2], f_after: 3 }));
    expect(el.querySelector<HTMLElement>(".aw-root")!.dataset.busy).toBe("false");
    expect(el.querySelector('[data-field="f_after"]')?.textContent).toBe("3.000");
  });

  it("resets one slider, or all of them and the projection", () => {
    const result = dirResult(1, { offsets: [1, 2, 3], project: true });
    const model = new FakeModel(dirTraits({ offsets: [1, 2, 3], project: true, result }));
    const el = mount(model);
    el.querySelector<HTMLButtonElement>('[data-control="reset"][data-index="1"]')!.click();
    expect(last(model.saved)).toEqual({ offsets: [1, 0, 3] });
    el.querySelector<HTMLButtonElement>('[data-control="reset-all"]')!.click();
    expect(last(model.saved)).toEqual({ offsets: [0, 0, 0], project: false });
  });

  it("toggles the projection and follows the kernel's offsets", () => {
    const model = new FakeModel(dirTraits());
    const el = mount(model);
    const toggle = el.querySelector<HTMLInputElement>('[data-control="project"]')!;
    toggle.checked = true;
    toggle.dispatchEvent(new Event("change"));
    expect(last(model.saved)).toEqual({ project: true });
    model.kernelSet("offsets", [0.5, 0, -1]);
    const ranges = [...el.querySelectorAll<HTMLInputElement>('[data-control="offset"]')].map((r) => Number(r.value));
    expect(ranges).toEqual([0.5, 0, -1]);
    model.kernelSet("project", false);
    expect(toggle.checked).toBe(false);
  });

  it("picks the target f: a class, or back to each example's top class", () => {
    const model = new FakeModel(dirTraits());
    const el = mount(model);
    const select = el.querySelector<HTMLSelectElement>('[data-control="target"]')!;
    expect([...select.options].map((o) => o.textContent)).toEqual(["top class", "zero", "one"]);
    select.value = "class:1";
    select.dispatchEvent(new Event("change"));
    expect(last(model.saved)).toEqual({ target: 1 });
    model.kernelSet("target", "fn 1: margin");
    expect(select.value).toBe("fn:fn 1: margin");
    select.value = "top";
    select.dispatchEvent(new Event("change"));
    expect(last(model.saved)).toEqual({ target: null });
  });

  it("selects a direction and an example from the thumbnails", () => {
    const model = new FakeModel(dirTraits());
    const el = mount(model);
    el.querySelector<HTMLButtonElement>('[data-control="select-direction"][data-index="2"]')!.click();
    expect(last(model.saved)).toEqual({ direction: 2 });
    el.querySelector<HTMLButtonElement>('.aw-dir-thumb[data-example="7"]')!.click();
    expect(last(model.saved)).toEqual({ example: 7 });
  });

  it("shows a failed request's error and no sliders", () => {
    const model = new FakeModel(dirTraits());
    const el = mount(model);
    model.kernelSet("result", { ...dirResult(2), n_directions: 0, spectrum: undefined, error: "ValueError: target: bad" });
    expect(el.querySelectorAll('[data-control="offset"]')).toHaveLength(0);
    expect(el.querySelector<HTMLElement>(".aw-error")!.hidden).toBe(false);
    expect(el.querySelector(".aw-error-message")?.textContent).toContain("target: bad");
  });
});

describe("helpers", () => {
  it("compares array controls element by element", () => {
    expect(sameControl([1, 2], [1, 2])).toBe(true);
    expect(sameControl([1, 2], [1, 3])).toBe(false);
    expect(sameControl(null, null)).toBe(true);
    expect(sameControl(1, "1")).toBe(false);
  });

  it("pads offsets and computes shares", () => {
    expect(offsetsFor([1], 3)).toEqual([1, 0, 0]);
    expect(offsetsFor([1, 2, 3], 2)).toEqual([1, 2]);
    expect(shares([3, 4])).toEqual([9 / 25, 16 / 25]);
    expect(relative([4, 2, 0])).toEqual([1, 0.5, 0]);
    expect(formatDelta(0.0000019, 16.56)).toBe("+0.00");
    expect(formatDelta(-0.0000019, 16.56)).toBe("+0.00");
    expect(formatDelta(13.987, 16.56)).toBe("+13.99");
    expect(formatDelta(-0.0123, 0.5)).toBe("−0.0123");
  });

  it("throttles to the last value per frame", async () => {
    const sent: number[] = [];
    const throttle = frameThrottle<number>((v) => sent.push(v));
    throttle.push(1);
    throttle.push(2);
    await frame();
    throttle.push(3);
    throttle.cancel();
    await frame();
    expect(sent).toEqual([2]);
  });
});

describe("directions widget on texts", () => {
  const tokens = [
    { text: "[CLS]", special: true },
    { text: "<b>", special: false },
    { text: "good", special: false },
    { text: "film", special: false },
    { text: "[SEP]", special: true },
  ];
  const textTraits = () =>
    dirTraits({
      kind: "tokens",
      image: null,
      result: dirResult(1, { tokens, token_coords: [[0, 0, 0], [-1, 0, 0], [2, 1, 0], [0.5, 0, 0], [0, 0, 0]], position: -1 }),
      examples: {
        direction: 0,
        top: [4, 9],
        bottom: [2, 3],
        coords: [2, 1.5, -2, -1.8],
        images: null,
        snippets: [
          { example: 4, position: 2, before: ["a"], token: "great", after: ["film"] },
          { example: 9, position: 1, before: [], token: "fine", after: ["work"] },
          { example: 2, position: 3, before: ["so"], token: "dull", after: [] },
          { example: 3, position: 1, before: [], token: "<i>", after: ["bad"] },
        ],
      },
    });

  it("colours each token by its coordinate along the direction, as text, and pins a token on click", () => {
    const model = new FakeModel(textTraits());
    const el = mount(model);
    const shown = [...el.querySelectorAll<HTMLElement>(".aw-dir-example .aw-dir-tok")];
    expect(shown.map((t) => t.textContent)).toEqual(["<b>", "good", "film"]); // special tokens hidden
    expect(el.querySelector(".aw-dir-example b")).toBeNull(); // "<b>" is text, not an element
    // the largest |coordinate| is the most saturated: "good" (+2) red, "<b>" (-1) blue
    const bg = (t: HTMLElement) => t.style.background;
    expect(bg(shown[1])).toMatch(/^rgb/);
    expect(bg(shown[1])).not.toEqual(bg(shown[0]));
    shown[1].click();
    expect(last(model.saved)).toEqual({ position: 2 });
    model.set("position", 2);
    expect(el.querySelector(".aw-dir-pinned")!.textContent).toBe("good");
    el.querySelector<HTMLElement>(".aw-dir-pinned")!.click(); // again: every token
    expect(last(model.saved)).toEqual({ position: -1 });
  });

  it("shows the top and bottom tokens with their context, as text", () => {
    const el = mount(new FakeModel(textTraits()));
    const snippets = [...el.querySelectorAll<HTMLElement>(".aw-dir-snippet")];
    expect(snippets.map((s) => s.textContent)).toEqual(["a great film", " fine work", "so dull ", " <i> bad"]);
    expect(snippets.map((s) => s.dataset.example)).toEqual(["4", "9", "2", "3"]);
    expect(el.querySelector(".aw-dir-extremes i")).toBeNull();
  });
});
