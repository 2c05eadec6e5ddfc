import { describe, expect, it } from "vitest";
import { fallbackRule, hideStaticFallback } from "../src/core/fallback";

const styles = (id: string) => document.head.querySelectorAll(`style[data-aw-fallback-hidden="${id}"]`);

describe("hideStaticFallback: a live view hides its widget's static output, and only while it lives", () => {
  it("one rule per widget however many views, removed with the last view", () => {
    const id = "0123456789abcdef0123456789abcdef";
    const first = hideStaticFallback(id);
    const second = hideStaticFallback(id);
    expect(styles(id).length).toBe(1);
    expect(styles(id)[0].textContent).toBe(fallbackRule(id));
    first();
    first(); // a second release of the same view changes nothing
    expect(styles(id).length).toBe(1);
    second();
    expect(styles(id).length).toBe(0);
  });

  it("another widget's fallback stays visible", () => {
    const release = hideStaticFallback("aaaaaaaaaaaaaaaa");
    expect(styles("bbbbbbbbbbbbbbbb").length).toBe(0);
    expect(styles("aaaaaaaaaaaaaaaa")[0].textContent).toContain('[data-aw-fallback="aaaaaaaaaaaaaaaa"]');
    release();
  });

  it("no id (a widget never displayed with a fallback) or one that is not the kernel's hex: no rule", () => {
    const before = document.head.querySelectorAll("style").length;
    hideStaticFallback(undefined)();
    hideStaticFallback("");
    hideStaticFallback('x"]{}body{display:none}');
    expect(document.head.querySelectorAll("style").length).toBe(before);
  });
});
