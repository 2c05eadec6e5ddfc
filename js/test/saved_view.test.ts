/**
 * The saved view of `w.save("view.html")` (attr_widgets/widgets/_html.py): its host's model says
 * `widget_manager.saved_view`, and the store then shows the saved result as it is; only view-only controls work.
 */
import type { RenderProps } from "@anywidget/types";
import { afterEach, describe, expect, it } from "vitest";
import { Store } from "../src/core/store";
import widget from "../src/entries/attribution";
import { ATTRIBUTION_KEYS, type AttributionLocal, type AttributionWidgetTraits } from "../src/traits/attribution";
import { FakeModel, traits } from "./fake_model";

function savedModel(): FakeModel {
  const model = new FakeModel(traits());
  (model as unknown as { widget_manager: unknown }).widget_manager = { saved_view: true, kernel: null };
  return model;
}

afterEach(() => document.body.replaceChildren());

describe("a saved view", () => {
  it("is offline: not connected, not stale, sends nothing and writes no compute control", () => {
    const model = savedModel();
    const store = new Store<AttributionWidgetTraits, AttributionLocal>(model.asModel(), ATTRIBUTION_KEYS, {
      hover: null,
    });
    expect(store.offline).toBe(true);
    expect(store.connected).toBe(false);
    expect(store.stale).toBe(false);
    expect(store.shown?.seq).toBe(1);
    store.setControl("method", "saliency");
    store.cancel();
    store.send({ type: "hover", x: 0, y: 0 });
    expect(model.get("method")).toBe("integrated_gradients");
    expect(model.sent).toEqual([]);
    expect(store.isViewControl("opacity")).toBe(true);
    expect(store.isViewControl("method")).toBe(false);
    expect(store.isViewControl("result")).toBe(false);
  });

  it("draws the saved result, disables the controls that need the kernel and says why", () => {
    const el = document.createElement("div");
    document.body.append(el);
    const model = savedModel();
    const props = { model: model.asModel(), el } as unknown as RenderProps<AttributionWidgetTraits>;
    widget.render(props);
    const root = el.querySelector<HTMLElement>(".aw-root")!;
    expect(root.dataset.offline).toBe("true");
    expect(root.classList.contains("aw-offline")).toBe(true);
    expect(root.classList.contains("aw-disconnected")).toBe(false); // not greyed like a lost kernel
    const controls = [...root.querySelectorAll<HTMLInputElement>("input, select, button")];
    const enabled = controls.filter((c) => !c.disabled);
    const owner = (c: Element) => c.closest<HTMLElement>("[data-control]")?.dataset.control;
    expect(controls.length - enabled.length).toBeGreaterThan(5); // method, baseline, steps, targets, evaluate
    expect(new Set(enabled.map(owner))).toEqual(new Set(["opacity", "sign_mode", "export"]));
    expect(root.querySelector(".aw-state-text")?.textContent).toBe("Saved view: controls need a running kernel.");
    expect([...root.querySelectorAll(".aw-tick")].map((t) => t.textContent)).toEqual(["-2", "-1", "0", "+1", "+2"]);
    // a view-only control redraws from the saved data; nothing goes to a kernel
    root.querySelector<HTMLButtonElement>('[data-control="sign_mode"] [data-value="positive"]')!.click();
    expect(model.get("sign_mode")).toBe("positive");
    expect([...root.querySelectorAll(".aw-tick")].map((t) => t.textContent)).toEqual(["0", "0.5", "1"]); // the positive values' extent
    expect(model.sent).toEqual([]);
  });

  it("a kernel's widget is not a saved view", () => {
    const store = new Store<AttributionWidgetTraits, AttributionLocal>(new FakeModel(traits()).asModel(), ATTRIBUTION_KEYS, {
      hover: null,
    });
    expect(store.offline).toBe(false);
    expect(store.connected).toBe(true);
  });
});
