import type { RenderProps } from "@anywidget/types";
import { afterEach, describe, expect, it } from "vitest";
import { LINK_EVENT } from "../src/core/link";
import widget from "../src/entries/attribution";
import type { AttributionWidgetTraits } from "../src/traits/attribution";
import { FakeModel, traits } from "./fake_model";

function mount(model: FakeModel): { el: HTMLElement; cleanup: () => void } {
  const el = document.createElement("div");
  document.body.append(el);
  const props = { model: model.asModel(), el, experimental: {} } as unknown as RenderProps<AttributionWidgetTraits>;
  const cleanup = widget.render(props) as () => void;
  const canvas = el.querySelector<HTMLCanvasElement>("canvas.aw-canvas")!;
  canvas.getBoundingClientRect = () => ({ left: 0, top: 0, width: 20, height: 20 }) as DOMRect; // 2 × 2 input
  return { el, cleanup };
}

const partner = (model_id: string, channel: string) => ({ model_id, names: ["hover"], channel });
const readout = (el: HTMLElement) => el.querySelector(".aw-readout")!.textContent;
const marker = (el: HTMLElement) => el.querySelector<HTMLElement>(".aw-pixel-mark")!;

afterEach(() => document.body.replaceChildren());

describe("linked hover: front-end only, on the pair's channel", () => {
  it("a hover in one view points the partner at the same pixel, with no kernel message", () => {
    const a = new FakeModel(traits({ linked_views: [partner("b", "a~b")] }));
    const b = new FakeModel(traits({ linked_views: [partner("a", "a~b")] }));
    const c = new FakeModel(traits({ linked_views: [partner("d", "c~d")] })); // another pair
    const [va, vb, vc] = [mount(a), mount(b), mount(c)];
    let events = 0;
    window.addEventListener(LINK_EVENT, () => (events += 1));

    va.el.querySelector("canvas")!.dispatchEvent(new MouseEvent("pointermove", { clientX: 15, clientY: 5 }));
    expect(readout(va.el)).toBe("pixel (1, 0)   attribution -2");
    expect(readout(vb.el)).toBe("pixel (1, 0)   attribution -2"); // the partner's own value at that pixel
    expect([marker(vb.el).hidden, marker(vb.el).dataset.x, marker(vb.el).dataset.y]).toEqual([false, "1", "0"]);
    expect(marker(va.el).hidden).toBe(true); // the user's own pointer is not outlined
    expect(readout(vc.el)).toBe("hover over the image to read values");
    expect(events).toBe(1); // applied by the partner, not announced back
    for (const m of [a, b, c]) {
      expect(m.sent).toEqual([]); // no custom message to the kernel
      expect(m.saved).toEqual([]); // and no synced trait written
    }

    va.el.querySelector("canvas")!.dispatchEvent(new MouseEvent("pointerleave"));
    expect(readout(vb.el)).toBe("hover over the image to read values");
    expect(marker(vb.el).hidden).toBe(true);
    [va, vb, vc].forEach((v) => v.cleanup());
  });

  it("unlink (the kernel empties linked_views) stops it", () => {
    const a = new FakeModel(traits({ linked_views: [partner("b", "a~b")] }));
    const b = new FakeModel(traits({ linked_views: [partner("a", "a~b")] }));
    const [va, vb] = [mount(a), mount(b)];
    a.kernelSet("linked_views", []);
    b.kernelSet("linked_views", []);
    va.el.querySelector("canvas")!.dispatchEvent(new MouseEvent("pointermove", { clientX: 5, clientY: 5 }));
    expect(readout(vb.el)).toBe("hover over the image to read values");

    vb.cleanup();
    va.cleanup();
  });
});
