import { describe, expect, it } from "vitest";
import {
  colorOf,
  composite,
  formatValue,
  GHOST_CONTRAST,
  legendTicks,
  magnitudeOf,
  normalise,
  overlayAlpha,
  scaleExtent,
  sharedExtent,
} from "../src/core/colorscale";

describe("scaleExtent", () => {
  const values = new Float32Array([-4, -1, 0, 1, 2, 3, 100]);

  it("is the maximum magnitude without clipping", () => {
    expect(scaleExtent(values, "absolute", 0)).toBe(100);
    expect(scaleExtent(values, "positive", 0)).toBe(100);
    expect(scaleExtent(values, "negative", 0)).toBe(4);
  });

  it("clips the top percent of magnitudes (the outlier)", () => {
    // 6 non-zero magnitudes; the 80th percentile drops the largest one.
    expect(scaleExtent(values, "signed", 20)).toBe(4);
  });

  it("is 0 when the mode shows nothing", () => {
    expect(scaleExtent(new Float32Array([1, 2]), "negative", 0)).toBe(0);
    expect(scaleExtent(new Float32Array([0, 0]), "signed", 2)).toBe(0);
  });
});

describe("normalise and magnitudes", () => {
  it("keeps the sign only in signed mode", () => {
    expect(normalise("signed", -2, 4)).toBe(-0.5);
    expect(normalise("absolute", -2, 4)).toBe(0.5);
    expect(normalise("positive", -2, 4)).toBe(0);
    expect(normalise("negative", -2, 4)).toBe(0.5);
  });

  it("clips at the extent and is 0 for a zero extent", () => {
    expect(normalise("signed", 10, 4)).toBe(1);
    expect(normalise("signed", -10, 4)).toBe(-1);
    expect(normalise("signed", 3, 0)).toBe(0);
  });

  it("hides the other sign", () => {
    expect(magnitudeOf("positive", -3)).toBe(0);
    expect(magnitudeOf("negative", 3)).toBe(0);
  });
});

describe("colours", () => {
  it("is red for positive and blue for negative values, diverging at zero", () => {
    const [r1, , b1] = colorOf("signed", 1);
    const [r2, , b2] = colorOf("signed", -1);
    expect(r1).toBeGreaterThan(b1);
    expect(b2).toBeGreaterThan(r2);
    expect(colorOf("signed", 0.5)).toEqual(colorOf("positive", 0.5));
    expect(colorOf("signed", -0.5)).toEqual(colorOf("negative", 0.5));
  });

  it("makes zero transparent and the extent as opaque as the opacity", () => {
    expect(overlayAlpha(0, 0.8)).toBe(0);
    expect(overlayAlpha(-1, 0.8)).toBeCloseTo(0.8);
    expect(overlayAlpha(0.25, 1)).toBeCloseTo(0.5); // the square root lifts weak values into view
  });
});

describe("composite", () => {
  const image = new Uint8ClampedArray([100, 100, 100, 255, 100, 100, 100, 255]);

  it("fades pixels with zero attribution to a light ghost of the image", () => {
    const out = composite(image, new Float32Array([0, 0]), "signed", 1, 1, new Uint8ClampedArray(8));
    const ghost = Math.round(255 * (1 - GHOST_CONTRAST) + 100 * GHOST_CONTRAST);
    expect(Array.from(out)).toEqual([ghost, ghost, ghost, 255, ghost, ghost, ghost, 255]);
  });

  it("paints the extent in the colour map's end colour at full opacity", () => {
    const out = composite(image, new Float32Array([1, -1]), "signed", 1, 1, new Uint8ClampedArray(8));
    expect(Array.from(out.slice(0, 3))).toEqual(colorOf("signed", 1).map(Math.round));
    expect(Array.from(out.slice(4, 7))).toEqual(colorOf("signed", -1).map(Math.round));
  });

  it("shows the image as it is without a heatmap or at zero opacity", () => {
    expect(Array.from(composite(image, null, "signed", 1, 1, new Uint8ClampedArray(8)))).toEqual(Array.from(image));
    const out = composite(image, new Float32Array([1, -1]), "signed", 1, 0, new Uint8ClampedArray(8));
    expect(Array.from(out)).toEqual(Array.from(image));
  });
});

describe("legend values", () => {
  it("spans ±extent when signed and 0..extent otherwise", () => {
    expect(legendTicks("signed", 2)).toEqual([-2, -1, 0, 1, 2]);
    expect(legendTicks("absolute", 2)).toEqual([0, 1, 2]);
    expect(legendTicks("negative", 2)).toEqual([0, -1, -2]);
  });

  it("formats with 3 significant digits, exponents when tiny or huge", () => {
    expect(formatValue(0)).toBe("0");
    expect(formatValue(0.123456)).toBe("0.123");
    expect(formatValue(-5.3149)).toBe("-5.31");
    expect(formatValue(0.000123)).toBe("1.23e-4");
    expect(formatValue(123456)).toBe("1.23e+5");
  });
});

describe("sharedExtent: one scale for several heatmaps", () => {
  it("equals the single extent for one array and pools the magnitudes for many", () => {
    const a = new Float32Array([1, -2, 3]);
    const b = new Float32Array([10, 0, -20]);
    expect(sharedExtent([a], "signed", 0)).toBe(scaleExtent(a, "signed", 0));
    expect(sharedExtent([a, b], "signed", 0)).toBe(20);
    expect(sharedExtent([a, b], "positive", 0)).toBe(10);
    // the percentile is over the pool: with 40 % clipped, 5 non-zero magnitudes → the 3rd largest of all
    expect(sharedExtent([a, b], "absolute", 40)).toBe(3);
    expect(sharedExtent([new Float32Array(2), new Float32Array(3)], "signed", 0)).toBe(0);
  });
});
