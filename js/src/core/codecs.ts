/** Decoding of the binary arrays the kernel sends (`{view, dtype, shape}`), without copying. */
import type { BinaryArray } from "./protocol";

export interface Float32Image {
  data: Float32Array;
  height: number;
  width: number;
}

export interface RgbaImage {
  data: Uint8ClampedArray;
  height: number;
  width: number;
}

function product(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkLength(arr: BinaryArray, bytesPerItem: number): void {
  const expected = product(arr.shape) * bytesPerItem;
  if (arr.view.byteLength !== expected) {
    throw new Error(
      `${arr.dtype} array of shape [${arr.shape.join(", ")}] needs ${expected} bytes, got ${arr.view.byteLength}`,
    );
  }
}

/** A `[H, W]` float32 heatmap as a typed-array view over the received buffer. */
export function decodeHeatmap(arr: BinaryArray): Float32Image {
  if (arr.dtype !== "float32" || arr.shape.length !== 2) {
    throw new Error(`heatmap must be float32 [H, W], got ${arr.dtype} [${arr.shape.join(", ")}]`);
  }
  checkLength(arr, 4);
  const { buffer, byteOffset, byteLength } = arr.view;
  // Float32Array needs 4-byte alignment; buffers from the kernel are aligned, but copy if one is not.
  const data =
    byteOffset % 4 === 0
      ? new Float32Array(buffer, byteOffset, byteLength / 4)
      : new Float32Array(buffer.slice(byteOffset, byteOffset + byteLength));
  return { data, height: arr.shape[0], width: arr.shape[1] };
}

/** A `[H, W, 4]` uint8 RGBA image as a view over the received buffer. */
export function decodeRgba(arr: BinaryArray): RgbaImage {
  if (arr.dtype !== "uint8" || arr.shape.length !== 3 || (arr.shape[2] !== 4 && arr.shape[2] !== 3)) {
    throw new Error(`image must be uint8 [H, W, 4] or [H, W, 3], got ${arr.dtype} [${arr.shape.join(", ")}]`);
  }
  checkLength(arr, 1);
  const bytes = new Uint8ClampedArray(arr.view.buffer, arr.view.byteOffset, arr.view.byteLength);
  const [height, width] = arr.shape;
  if (arr.shape[2] === 4) return { data: bytes, height, width };
  // RGB (large inputs travel without their opaque alpha channel): add it back.
  const data = new Uint8ClampedArray(height * width * 4);
  for (let i = 0, j = 0; i < bytes.length; i += 3, j += 4) {
    data[j] = bytes[i];
    data[j + 1] = bytes[i + 1];
    data[j + 2] = bytes[i + 2];
    data[j + 3] = 255;
  }
  return { data, height, width };
}

/** Encode a Float32Array the way the kernel does (used by tests and by the benchmark page). */
export function encodeFloat32(data: Float32Array, shape: number[]): BinaryArray {
  return { view: new DataView(data.buffer, data.byteOffset, data.byteLength), dtype: "float32", shape };
}
