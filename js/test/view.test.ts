import { describe, expect, it } from "vitest";
import { composeViews, staticView, type View } from "../src/core/view";

describe("composeViews: every view of a widget updates, one failure does not blank the others", () => {
  it("updates in order, reports a failing view and still updates the rest, disposes all", () => {
    const seen: string[] = [];
    const errors: unknown[] = [];
    let disposed = 0;
    const view = (name: string, fail = false): View<string> => ({
      el: document.createElement("div"),
      update(changed) {
        if (fail) throw new Error(`${name} broke`);
        seen.push(`${name}:${[...changed].join(",")}`);
      },
      dispose() {
        disposed += 1;
      },
    });
    const views = composeViews([view("a"), view("b", true), view("c")], (err) => errors.push(err));
    views.update(new Set(["shown"]));
    expect(seen).toEqual(["a:shown", "c:shown"]);
    expect(errors.map((e) => (e as Error).message)).toEqual(["b broke"]);
    views.dispose();
    expect(disposed).toBe(3);
  });

  it("staticView wraps an element whose update has nothing to clean up", () => {
    const el = document.createElement("span");
    const v = staticView<string>(el, (changed) => {
      el.textContent = [...changed].join();
    });
    v.update(new Set(["x"]));
    v.dispose();
    expect(el.textContent).toBe("x");
  });
});
