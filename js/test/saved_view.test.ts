/**
 * The saved view of `w.save("view.html")` (attr_widgets/widgets/_html.py): its host's model says
 * `widget_manager.saved_view`, and the store then shows the saved result as it is, with every control off.
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
  it("is offline: not connected, not stale, sends nothing and writes no control", () => {
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
  });

  it("draws the saved result, disables every control and says why", () => {
    const el = document.createElement("div");
    document.body.append(el);
    const props = { model: savedModel().asModel(), el } as unknown as RenderProps<AttributionWidgetTraits>;
    widget.render(props);
    const root = el.querySelector<HTMLElement>(".aw-root")!;
    expect(root.dataset.offline).toBe("true");
    expect(root.classList.contains("aw-offline")).toBe(true);
    expect(root.classList.contains("aw-disconnected")).toBe(false); // not greyed like a lost kernel
    const controls = [...root.querySelectorAll<HTMLInputElement>("input, select, button")];
    expect(controls.length).toBeGreaterThan(3);
    expect(controls.filter((c) => !c.disabled)).toEqual([]);
    expect(root.querySelector(".aw-state-text")?.textContent).toBe("Saved view: controls need a running kernel.");
    expect([...root.querySelectorAll(".aw-tick")].map((t) => t.textContent)).toEqual(["-2", "-1", "0", "+1", "+2"]);
  });

  it("a kernel's widget is not a saved view", () => {
    const store = new Store<AttributionWidgetTraits, AttributionLocal>(new FakeModel(traits()).asModel(), ATTRIBUTION_KEYS, {
      hover: null,
    });
    expect(store.offline).toBe(false);
    expect(store.connected).toBe(true);
  });
});
