import { describe, expect, it } from "vitest";
import { decodeHeatmap, decodeRgba, encodeFloat32 } from "../src/core/codecs";

describe("decodeHeatmap", () => {
  it("views the buffer without copying", () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const decoded = decodeHeatmap(encodeFloat32(data, [2, 3]));
    expect(decoded.height).toBe(2);
    expect(decoded.width).toBe(3);
    expect(Array.from(decoded.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(decoded.data.buffer).toBe(data.buffer);
  });

  it("copies a buffer that is not 4-byte aligned", () => {
    const bytes = new Uint8Array(1 + 8);
    new DataView(bytes.buffer).setFloat32(1, 1.5, true);
    new DataView(bytes.buffer).setFloat32(5, -2.5, true);
    const decoded = decodeHeatmap({ view: new DataView(bytes.buffer, 1, 8), dtype: "float32", shape: [1, 2] });
    expect(Array.from(decoded.data)).toEqual([1.5, -2.5]);
  });

  it("rejects a buffer whose size does not match the shape", () => {
    const arr = encodeFloat32(new Float32Array(5), [2, 3]);
    expect(() => decodeHeatmap(arr)).toThrow(/needs 24 bytes, got 20/);
  });

  it("rejects other dtypes and ranks", () => {
    expect(() => decodeHeatmap({ view: new DataView(new ArrayBuffer(4)), dtype: "uint8", shape: [2, 2] })).toThrow(
      /float32 \[H, W\]/,
    );
    expect(() => decodeHeatmap(encodeFloat32(new Float32Array(8), [2, 2, 2]))).toThrow(/float32 \[H, W\]/);
  });
});

describe("decodeRgba", () => {
  it("decodes [H, W, 4] uint8", () => {
    const data = new Uint8Array([1, 2, 3, 255, 4, 5, 6, 255]);
    const decoded = decodeRgba({ view: new DataView(data.buffer), dtype: "uint8", shape: [1, 2, 4] });
    expect(decoded.width).toBe(2);
    expect(Array.from(decoded.data)).toEqual([1, 2, 3, 255, 4, 5, 6, 255]);
  });

  it("adds the opaque alpha channel to RGB (large inputs travel without it)", () => {
    const bytes = new Uint8Array([10, 20, 30, 40, 50, 60]);
    const image = decodeRgba({ view: new DataView(bytes.buffer), dtype: "uint8", shape: [1, 2, 3] });
    expect(image.width).toBe(2);
    expect(Array.from(image.data)).toEqual([10, 20, 30, 255, 40, 50, 60, 255]);
  });

  it("rejects other channel counts", () => {
    const view = new DataView(new ArrayBuffer(4));
    expect(() => decodeRgba({ view, dtype: "uint8", shape: [1, 2, 2] })).toThrow();
  });
});
