// Cross-language probe: runs the view's colorscale.ts on the inputs in argv[2] (JSON), prints the results.
import { readFileSync } from "node:fs";
import { composite, scaleExtent, type SignMode } from "../../js/src/core/colorscale";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = cases.map((c: { h: number; w: number; image: number[]; heat: number[]; mode: SignMode; opacity: number; outlier: number }) => {
  const heat = new Float32Array(c.heat);
  const extent = scaleExtent(heat, c.mode, c.outlier);
  const pixels = new Uint8ClampedArray(c.h * c.w * 4);
  composite(new Uint8ClampedArray(c.image), heat, c.mode, extent, c.opacity, pixels);
  return { extent, rgba: Array.from(pixels) };
});
process.stdout.write(JSON.stringify(out));
