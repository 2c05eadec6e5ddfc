import type { RenderProps } from "@anywidget/types";
import { afterEach, describe, expect, it, vi } from "vitest";
import widget from "../src/entries/attribution";
import type { AttributionWidgetTraits } from "../src/traits/attribution";
import { activity, FakeModel, result, traits } from "./fake_model";

function mount(model: FakeModel): { el: HTMLElement; cleanup: () => void } {
  const el = document.createElement("div");
  document.body.append(el);
  const props = { model: model.asModel(), el, experimental: {} } as unknown as RenderProps<AttributionWidgetTraits>;
  const cleanup = widget.render(props) as () => void;
  return { el, cleanup };
}

afterEach(() => document.body.replaceChildren());

describe("render", () => {
  it("builds every view from the model's state", () => {
    const { el } = mount(new FakeModel(traits()));
    const root = el.querySelector<HTMLElement>(".aw-root")!;
    expect(root.dataset.seq).toBe("1");
    expect(root.dataset.busy).toBe("false");
    expect(el.querySelectorAll(".aw-target")).toHaveLength(3);
    expect(el.querySelector(".aw-target.aw-on .aw-target-label")?.textContent).toBe("dog");
    expect(el.querySelector<HTMLSelectElement>('[data-control="method"]')!.value).toBe("integrated_gradients");
    expect(el.querySelector(".aw-title")?.textContent).toBe("Integrated Gradients");
    expect(el.querySelector(".aw-subtitle")?.textContent).toBe("for class dog");
    expect(el.querySelector<HTMLElement>(".aw-badge")!.dataset.level).toBe("good");
    expect(el.querySelector<HTMLElement>(".aw-error")!.hidden).toBe(true);
    // legend: signed, extent = max |value| = 2 (outlier_percent 0)
    const ticks = [...el.querySelectorAll(".aw-tick")].map((t) => t.textContent);
    expect(ticks).toEqual(["-2", "-1", "0", "+1", "+2"]);
  });

  it("writes the controls to the model as the user uses them", () => {
    const model = new FakeModel(traits());
    const { el } = mount(model);
    el.querySelector<HTMLButtonElement>('[data-control="baseline"] [data-value="blur"]')!.click();
    const select = el.querySelector<HTMLSelectElement>('[data-control="method"]')!;
    select.value = "saliency";
    select.dispatchEvent(new Event("change"));
    el.querySelector<HTMLButtonElement>('.aw-target[data-index="0"]')!.click();
    el.querySelector<HTMLButtonElement>('[data-control="sign_mode"] [data-value="positive"]')!.click();
    expect(model.saved).toEqual([{ baseline: "blur" }, { method: "saliency" }, { target: 0 }, { sign_mode: "positive" }]);
    expect(el.querySelector<HTMLElement>(".aw-root")!.dataset.busy).toBe("true");
    expect(el.querySelector<HTMLElement>(".aw-busy")!.hidden).toBe(false);
  });

  it("disables the controls a method does not read", () => {
    const model = new FakeModel(traits());
    const { el } = mount(model);
    model.kernelSet("method", "saliency");
    const blur = el.querySelector<HTMLButtonElement>('[data-control="baseline"] [data-value="blur"]')!;
    expect(blur.disabled).toBe(true);
    expect(el.querySelector<HTMLInputElement>('[data-control="n_steps"]')!.disabled).toBe(true);
  });

  it("says which methods are not offered for this model and what its scores were taken to be", () => {
    const model = new FakeModel(traits());
    const { el } = mount(model);
    const hidden = el.querySelector<HTMLElement>('[data-role="unavailable-methods"]')!;
    const kind = el.querySelector<HTMLElement>('[data-role="output-kind"]')!;
    expect(hidden.hidden).toBe(true);
    expect(kind.hidden).toBe(true); // logits: nothing to say
    const options = model.get("options");
    model.kernelSet("options", {
      ...options,
      unavailable_methods: [{ value: "guided_backprop", label: "Guided backprop", reason: "no nn.ReLU modules" }],
      output_kind: "probabilities",
    });
    expect(hidden.hidden).toBe(false);
    expect(hidden.textContent).toBe("Not offered for this model: Guided backprop (no nn.ReLU modules)");
    expect(kind.textContent).toContain("outputs probabilities: shown as they are");
  });

  it("never offers GradientSHAP with a blurred baseline", () => {
    const model = new FakeModel(traits());
    const { el } = mount(model);
    el.querySelector<HTMLButtonElement>('[data-control="baseline"] [data-value="blur"]')!.click();
    const select = el.querySelector<HTMLSelectElement>('[data-control="method"]')!;
    select.value = "gradient_shap";
    select.dispatchEvent(new Event("change"));
    expect(model.saved).toEqual([{ baseline: "blur" }, { method: "gradient_shap", baseline: "zeros" }]);
    const blur = el.querySelector<HTMLButtonElement>('[data-control="baseline"] [data-value="blur"]')!;
    expect(blur.disabled).toBe(true);
  });

  it("shows a preliminary result at full strength, marked, until the final one replaces it", () => {
    const model = new FakeModel(traits());
    const { el } = mount(model);
    const frame = el.querySelector<HTMLElement>(".aw-frame")!;
    const chip = el.querySelector<HTMLElement>(".aw-badge-preliminary")!;
    expect(chip.hidden).toBe(true);
    model.kernelSet("activity", activity("computing", 1, 5, 60));
    model.kernelSet("result", result(1, { preliminary: true, steps_taken: 4 }));
    expect(chip.hidden).toBe(false);
    expect(chip.textContent).toBe("preliminary · 4 steps");
    expect(frame.dataset.preliminary).toBe("true");
    expect(frame.classList.contains("aw-stale")).toBe(false); // not dimmed: it answers the present controls
    model.kernelSet("result", result(1, { steps_taken: 50 }));
    model.kernelSet("activity", activity("idle", 1, 60, 60));
    expect(chip.hidden).toBe(true);
    expect(frame.dataset.preliminary).toBe("false");
  });

  it("reads a block-averaged large input at full resolution and asks the kernel for the exact value", () => {
    vi.useFakeTimers();
    try {
      const rgb = { view: new DataView(new Uint8Array(12).fill(90).buffer), dtype: "uint8", shape: [2, 2, 3] };
      const big = result(1, { display_scale: 4, full_shape: [8, 8] }); // a 2 x 2 heatmap of an 8 x 8 input
      const model = new FakeModel(traits({ image: rgb as AttributionWidgetTraits["image"], result: big }));
      const { el } = mount(model);
      const canvas = el.querySelector<HTMLCanvasElement>("canvas.aw-canvas")!;
      canvas.getBoundingClientRect = () => ({ left: 0, top: 0, width: 80, height: 80 }) as DOMRect;
      canvas.dispatchEvent(new MouseEvent("pointermove", { clientX: 75, clientY: 5 })); // input pixel (7, 0)
      const readout = el.querySelector(".aw-readout")!;
      expect(readout.textContent).toBe("pixel (7, 0)   attribution ≈ -2 (mean of its 4×4 block)");
      vi.advanceTimersByTime(100);
      expect(model.sent).toEqual([{ type: "hover", x: 7, y: 0 }]);
      model.kernelSend({ type: "hover_value", x: 7, y: 0, value: -2.5, seq: 1 });
      expect(readout.textContent).toBe("pixel (7, 0)   attribution -2.5");
      model.kernelSend({ type: "hover_value", x: 6, y: 0, value: 9, seq: 1 }); // not the pixel under the pointer
      expect(readout.textContent).toBe("pixel (7, 0)   attribution -2.5");
    } finally {
      vi.useRealTimers();
    }
  });

  it("shows progress, a cancel button, and the cancelled and disconnected states", () => {
    const model = new FakeModel(traits());
    const { el } = mount(model);
    const root = el.querySelector<HTMLElement>(".aw-root")!;
    model.kernelSet("activity", { state: "computing", seq: 2, done: 5, total: 20, elapsed_ms: 500, eta_ms: 1500, message: "" });
    expect(el.querySelector<HTMLElement>(".aw-progress")!.hidden).toBe(false);
    expect(el.querySelector<HTMLElement>(".aw-progress-fill")!.style.width).toBe("25%");
    expect(el.querySelector(".aw-busy-text")?.textContent).toBe("computing 25 % · 1.5 s left");
    el.querySelector<HTMLButtonElement>('[data-control="cancel"]')!.click();
    expect(model.sent).toEqual([{ type: "cancel" }]);
    model.kernelSet("activity", { state: "cancelled", seq: 2, done: 5, total: 20, elapsed_ms: 600, eta_ms: null, message: "" });
    expect(root.dataset.activity).toBe("cancelled");
    (model as unknown as { comm_live: boolean }).comm_live = false;
    model.fireEvent("comm_live_update");
    expect(root.dataset.connected).toBe("false");
    expect(el.querySelector(".aw-state")?.textContent).toContain("Disconnected");
    expect(el.querySelector<HTMLSelectElement>('[data-control="method"]')!.disabled).toBe(true);
  });

  it("goes disconnected when the widget manager's kernel restarts, and lets go of its signals", () => {
    const model = new FakeModel(traits());
    const { el, cleanup } = mount(model);
    const root = el.querySelector<HTMLElement>(".aw-root")!;
    expect(model.kernel.statusChanged.slots.size).toBe(1);
    model.kernel.setStatus("busy");
    expect(root.dataset.connected).toBe("true");
    model.kernel.setStatus("restarting");
    expect(root.dataset.connected).toBe("false");
    expect(root.classList.contains("aw-disconnected")).toBe(true);
    expect(el.querySelector(".aw-state")?.textContent).toContain("Disconnected");
    for (const control of el.querySelectorAll<HTMLButtonElement>("button, input, select")) {
      // every control that needs the kernel is off; the export menu saves the picture on screen without one
      expect(control.disabled).toBe(control.closest(".aw-export") === null);
    }
    el.querySelector<HTMLButtonElement>('.aw-target[data-index="0"]')!.click();
    expect(model.saved).toEqual([]); // nothing is sent to a kernel that is gone
    cleanup();
    expect(model.kernel.statusChanged.slots.size).toBe(0);
    expect(model.kernel.connectionStatusChanged.slots.size).toBe(0);
  });

  it("follows changes made from Python", () => {
    const model = new FakeModel(traits());
    const { el } = mount(model);
    model.kernelSet("sign_mode", "absolute");
    model.kernelSet("target", 2);
    expect(el.querySelector(".aw-target.aw-on .aw-target-label")?.textContent).toBe("fox");
    expect(el.querySelector('[data-control="sign_mode"] .aw-on')).toBeNull(); // "absolute" is not offered here
    expect(el.querySelector(".aw-legend-caption")?.textContent).toMatch(/^\|attribution\|/);
  });

  it("shows a failed request in the error box, never a blank view", () => {
    const model = new FakeModel(traits());
    const { el } = mount(model);
    model.kernelSet("request_seq", 2);
    model.kernelSet("result", result(2, { heatmap: null, completeness: null, error: "RuntimeError: boom" }));
    const box = el.querySelector<HTMLElement>(".aw-error")!;
    expect(box.hidden).toBe(false);
    expect(box.dataset.kind).toBe("failure");
    expect(box.textContent).toContain("RuntimeError: boom");
    expect(el.querySelector<HTMLElement>(".aw-badge")!.hidden).toBe(true);
    expect(el.querySelectorAll(".aw-tick")).toHaveLength(0);
    expect(el.querySelector(".aw-legend-caption")?.textContent).toContain("no heatmap to show");
  });

  it("shows a rejected change as a notice and clears it", () => {
    const model = new FakeModel(traits());
    const { el } = mount(model);
    model.kernelSet("notice", "InvalidValueError: target 7 is out of range");
    const box = el.querySelector<HTMLElement>(".aw-error")!;
    expect(box.hidden).toBe(false);
    expect(box.dataset.kind).toBe("rejected");
    expect(box.querySelector(".aw-error-title")?.textContent).toBe("Change rejected");
    model.kernelSet("notice", "");
    expect(box.hidden).toBe(true);
  });

  it("cleans up: listeners released and DOM removed", () => {
    const model = new FakeModel(traits());
    const before = model.listenerCount();
    const { el, cleanup } = mount(model);
    expect(model.listenerCount()).toBeGreaterThan(before);
    cleanup();
    expect(model.listenerCount()).toBe(before);
    expect(el.querySelector(".aw-root")).toBeNull();
    // Changes after cleanup touch nothing.
    model.kernelSet("result", result(5));
    expect(el.childElementCount).toBe(0);
  });
});
