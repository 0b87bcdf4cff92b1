/**
 * A Mandelbrot image rendered in parallel by the WASM kernel, one band of
 * rows per task, written as a PNG file.
 *
 * @module
 */

import { kernels, Pool } from "../mod.ts";
import { formatMs, now, type PartOptions } from "./output.ts";
import { encodePng } from "./png.ts";

/** Options of {@linkcode mandelbrot}. */
export interface MandelbrotOptions extends PartOptions {
  /** Folder to write `mandelbrot.png` to; default `demo/out/`. */
  outDir?: string | URL;
}

/** What {@linkcode mandelbrot} wrote. */
export interface MandelbrotResult {
  /** Absolute path of the PNG file. */
  path: string;
  /** Image size in pixels. */
  width: number;
  /** See `width`. */
  height: number;
  /** Row bands rendered as separate tasks. */
  bands: number;
}

/** Gradient stops (position 0..1, RGB) of the escape-count palette; points of the set are black. */
const GRADIENT: [number, number, number, number][] = [
  [0, 0, 7, 100],
  [0.16, 32, 107, 203],
  [0.42, 237, 255, 255],
  [0.6425, 255, 170, 0],
  [0.8575, 0, 2, 0],
  [1, 0, 7, 100],
];

/** Renders a 1200x800 image (240x160 when quick) on a Pool and writes it as a PNG. */
export async function mandelbrot(options: MandelbrotOptions = {}): Promise<MandelbrotResult> {
  const print = options.print ?? console.log;
  const [width, height, maxIter] = options.quick ? [240, 160, 200] : [1200, 800, 1000];
  const bandRows = options.quick ? 8 : 20;
  const bands: [number, number, number, number, number][] = [];
  for (let y = 0; y < height; y += bandRows) {
    bands.push([width, height, maxIter, y, Math.min(height, y + bandRows)]);
  }

  await using pool = new Pool();
  const start = now();
  const counts = await pool.starmap(kernels.mandelbrot, bands, { chunksize: 1 });
  const renderMs = now() - start;

  const colors = palette(maxIter);
  const rgb = new Uint8Array(width * height * 3);
  let pixel = 0;
  for (const band of counts) {
    for (const count of band) rgb.set(colors.subarray(count * 3, count * 3 + 3), 3 * pixel++);
  }
  const png = await encodePng({ width, height, channels: 3, data: rgb });
  const dir = options.outDir ?? new URL("./out/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  const file = dir instanceof URL ? new URL("mandelbrot.png", dir) : `${dir}/mandelbrot.png`;
  await Deno.writeFile(file, png);
  const path = await Deno.realPath(file);

  print(
    `${width}x${height}, up to ${maxIter} iterations, ${bands.length} bands on Pool(${pool.size})`,
  );
  print(`Rendered in ${formatMs(renderMs)}; PNG ${(png.length / 1024).toFixed(0)} KiB`);
  print(`Wrote ${path}`);
  return { path, width, height, bands: bands.length };
}

/** RGB color of every escape count `0..maxIter`; `maxIter` (inside the set) is black. */
function palette(maxIter: number): Uint8Array {
  const colors = new Uint8Array((maxIter + 1) * 3);
  for (let count = 0; count < maxIter; count++) {
    // Log scale, repeated: low counts (far out) and high ones (near the set) both get contrast.
    const t = ((3 * Math.log1p(count)) / Math.log1p(maxIter)) % 1;
    const i = GRADIENT.findIndex(([stop]) => stop > t);
    const [s0, ...c0] = GRADIENT[i - 1];
    const [s1, ...c1] = GRADIENT[i];
    const f = (t - s0) / (s1 - s0);
    colors.set(c0.map((c, k) => Math.round(c + f * (c1[k] - c))), 3 * count);
  }
  return colors;
}
