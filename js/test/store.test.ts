import { describe, expect, it } from "vitest";
import { Store } from "../src/core/store";
import { ATTRIBUTION_KEYS, type AttributionLocal, type AttributionWidgetTraits } from "../src/traits/attribution";
import { FakeModel, activity, result, traits } from "./fake_model";

function attributionStore(model: FakeModel) {
  return new Store<AttributionWidgetTraits, AttributionLocal>(model.asModel(), ATTRIBUTION_KEYS, { hover: null });
}

describe("Store: a result is current iff it answers the present controls", () => {
  it("shows the result that answers the newest request", () => {
    const model = new FakeModel(traits());
    const store = attributionStore(model);
    expect(store.shown?.seq).toBe(1);
    expect(store.busy).toBe(false);
  });

  it("is busy while the kernel computes and shows progress state", () => {
    const model = new FakeModel(traits());
    const store = attributionStore(model);
    model.kernelSet("activity", activity("computing", 2, 3, 10));
    expect(store.busy).toBe(true);
    model.kernelSet("result", result(2));
    model.kernelSet("activity", activity("idle", 2, 1, 1));
    expect(store.shown?.seq).toBe(2);
    expect(store.busy).toBe(false);
  });

  it("drops a cancelled request's preliminary result for the final one the kernel puts back", () => {
    const model = new FakeModel(traits({ result: result(1, { method: "saliency" }), method: "saliency" }));
    const store = attributionStore(model);
    model.set("method", "integrated_gradients");
    model.kernelSet("activity", activity("computing", 2, 3, 60));
    model.kernelSet("result", result(2, { preliminary: true }));
    expect(store.shown?.seq).toBe(2); // the coarse answer to the present controls
    expect(store.stale).toBe(false);
    // The kernel sends both in one message: its model holds both values before either event fires.
    model.setQuietly("activity", activity("cancelled", 2));
    model.kernelSet("result", result(1, { method: "saliency" }));
    model.kernelSet("activity", activity("cancelled", 2));
    expect(store.shown?.seq).toBe(1);
    expect(store.stale).toBe(true); // "the result shown is for earlier settings"
  });

  it("holds a result for an older input (the kernel's inputs_version moved on)", () => {
    const model = new FakeModel(traits());
    const store = attributionStore(model);
    model.kernelSet("inputs_version", 1);
    expect(store.busy).toBe(true);
    model.kernelSet("result", result(2, { inputs_version: 0 }));
    expect(store.shown?.seq).toBe(1);
    model.kernelSet("result", result(3, { inputs_version: 1 }));
    expect(store.shown?.seq).toBe(3);
    expect(store.busy).toBe(false);
  });

  it("after a cancel keeps the old result, marked stale, and is not busy", () => {
    const model = new FakeModel(traits());
    const store = attributionStore(model);
    store.setControl("method", "saliency");
    model.kernelSet("activity", activity("cancelled", 2));
    expect(store.shown?.seq).toBe(1);
    expect(store.busy).toBe(false);
    expect(store.stale).toBe(true);
    store.recompute();
    store.cancel();
    expect(model.sent).toEqual([{ type: "recompute" }, { type: "cancel" }]);
  });

  it("treats results as stale as soon as a compute control changes here", () => {
    const model = new FakeModel(traits());
    const store = attributionStore(model);
    store.setControl("method", "saliency");
    expect(store.busy).toBe(true);
    // The kernel answers an older request before it has seen the change: not shown.
    model.kernelSet("result", result(1, { method: "integrated_gradients" }));
    expect(store.shown?.seq).toBe(1);
    expect(store.dropped).toBe(1);
    model.kernelSet("request_seq", 2);
    model.kernelSet("result", result(2, { method: "saliency" }));
    expect(store.shown?.method).toBe("saliency");
    expect(store.busy).toBe(false);
  });

  it("holds back a numbered result for a slider value the user has already left", () => {
    const model = new FakeModel(traits());
    const store = attributionStore(model);
    // A drag: the browser sends the first value now and batches the rest until the kernel is idle.
    for (let steps = 10; steps <= 24; steps++) store.setControl("n_steps", steps);
    model.kernelSet("request_seq", 2);
    model.kernelSet("result", result(2, { n_steps: 10 }));
    expect(store.shown?.seq).toBe(1);
    expect(store.busy).toBe(true);
    model.kernelSet("request_seq", 3);
    model.kernelSet("result", result(3, { n_steps: 24 }));
    expect(store.shown?.n_steps).toBe(24);
    expect(store.busy).toBe(false);
  });

  it("shows the waiting result when the kernel puts a rejected control back", () => {
    const model = new FakeModel(traits());
    const store = attributionStore(model);
    store.setControl("n_steps", 7);
    model.kernelSet("request_seq", 2);
    model.kernelSet("result", result(2, { n_steps: 50 }));
    expect(store.busy).toBe(true);
    model.kernelSet("n_steps", 50);
    expect(store.shown?.seq).toBe(2);
    expect(store.busy).toBe(false);
  });

  it("does not wait for the kernel after a view-only change", () => {
    const model = new FakeModel(traits());
    const store = attributionStore(model);
    store.setControl("opacity", 0.2);
    store.setControl("sign_mode", "absolute");
    expect(store.busy).toBe(false);
    expect(model.saved).toEqual([{ opacity: 0.2 }, { sign_mode: "absolute" }]);
  });

  it("sends nothing when a control is set to its current value", () => {
    const model = new FakeModel(traits());
    const store = attributionStore(model);
    store.setControl("method", "integrated_gradients");
    expect(model.saved).toEqual([]);
    expect(store.busy).toBe(false);
  });

  it("notifies subscribers and unbinds every model listener on dispose", () => {
    const model = new FakeModel(traits());
    const before = model.listenerCount();
    const store = attributionStore(model);
    expect(model.listenerCount()).toBeGreaterThan(before);
    const seen: string[][] = [];
    const unsubscribe = store.subscribe((changed) => seen.push([...changed].sort()));
    model.kernelSet("request_seq", 2);
    expect(seen).toEqual([["request_seq"]]); // request numbers are the kernel's; staleness is by controls
    unsubscribe();
    store.dispose();
    expect(model.listenerCount()).toBe(before);
  });
});

describe("Controls never offer a pair that always fails", () => {
  it("switches a blurred baseline to one GradientSHAP can use, in one message", () => {
    const model = new FakeModel(traits({ baseline: "blur" }));
    const store = attributionStore(model);
    store.setControls({ method: "gradient_shap", baseline: "zeros" });
    expect(model.saved).toEqual([{ method: "gradient_shap", baseline: "zeros" }]);
  });
});

describe("Store: while a slider is dragged, results follow it as previews", () => {
  it("shows each answer to an earlier step of the drag, stays busy, and ends current", () => {
    const model = new FakeModel(traits());
    const store = attributionStore(model);
    for (const steps of [51, 52, 53]) store.setControl("n_steps", steps, { dragging: true });
    expect(store.busy).toBe(true);
    model.kernelSet("result", result(2, { n_steps: 51 }));
    expect(store.shown?.seq).toBe(2); // a preview: the picture follows the drag
    expect(store.preview).toBe(true);
    expect(store.busy).toBe(true); // the answer to 53 is still owed
    model.kernelSet("result", result(3, { n_steps: 52 }));
    expect(store.shown?.seq).toBe(3);
    store.release("n_steps");
    model.kernelSet("result", result(4, { n_steps: 53 }));
    expect(store.shown?.seq).toBe(4);
    expect(store.preview).toBe(false);
    expect(store.busy).toBe(false);
  });

  it("never shows a result for other settings of the controls not being dragged", () => {
    const model = new FakeModel(traits());
    const store = attributionStore(model);
    store.setControl("n_steps", 60, { dragging: true });
    model.kernelSet("result", result(2, { n_steps: 55, method: "saliency" }));
    expect(store.shown?.seq).toBe(1);
    model.kernelSet("result", result(3, { n_steps: 55, target: 7 }));
    expect(store.shown?.seq).toBe(1);
    model.kernelSet("result", result(4, { n_steps: 55, error: "boom" }));
    expect(store.shown?.seq).toBe(1); // an error is never a preview
    expect(store.dropped).toBe(3);
  });

  it("only moves forward, and after the release shows only the current answer", () => {
    const model = new FakeModel(traits());
    const store = attributionStore(model);
    store.setControl("n_steps", 70, { dragging: true });
    model.kernelSet("result", result(5, { n_steps: 65 }));
    model.kernelSet("result", result(4, { n_steps: 64 })); // older than the one shown
    expect(store.shown?.seq).toBe(5);
    store.release("n_steps");
    model.kernelSet("result", result(6, { n_steps: 69 }));
    expect(store.shown?.seq).toBe(5);
    expect(store.preview).toBe(false);
    expect(store.busy).toBe(true);
  });

  it("a change without dragging keeps the rule: nothing is shown until the answer", () => {
    const model = new FakeModel(traits());
    const store = attributionStore(model);
    store.setControl("n_steps", 80);
    model.kernelSet("result", result(2, { n_steps: 79 }));
    expect(store.shown?.seq).toBe(1);
  });
});
