// The WASM kernels through a real Pool: compiled once on the main thread,
// instantiated once per worker, typed arrays in and out, traps as task errors.

import assert from "node:assert/strict";
import { random } from "./_random.ts";
import * as ts from "../bench/kernels_ts.ts";
import { wasmCompileCount } from "../src/_wasm_registry.ts";
import { RemoteError } from "../src/errors.ts";
import { kernels } from "../src/kernels.ts";
import { wasmModule } from "../src/wasm.ts";
import { withPool } from "./_helpers.ts";

const SEED = Number(Deno.env.get("MULTIPOOL_SEED") ?? 7);

// First in this file: nothing has compiled the kernel module yet.
Deno.test("100 kernel calls on a 2-worker pool compile once and instantiate twice", async () => {
  const before = wasmCompileCount();
  await withPool({ size: 2 }, async (pool) => {
    const calls = Array.from(
      { length: 100 },
      (_, i) => pool.apply(kernels.countPrimes, [i * 1000, (i + 1) * 1000]),
    );
    const counts = await Promise.all(calls);
    assert.equal(counts.reduce((s, c) => s + c, 0), 9592);
    assert.equal(wasmCompileCount() - before, 1, "compiled once on the main thread");
    assert.equal(pool.stats().wasmInstantiations, 2, "instantiated once per worker");
    // More calls reuse both instances.
    assert.deepEqual(await pool.starmap(kernels.countPrimes, [[0, 1e5], [1e5, 2e5]]), [9592, 8392]);
    assert.equal(pool.stats().wasmInstantiations, 2);
    assert.equal(wasmCompileCount() - before, 1);
  });
});

Deno.test("mandelbrot rows computed in chunks come back as Uint16Arrays and match the reference", async () => {
  await withPool({ size: 2 }, async (pool) => {
    const [w, h, maxIter] = [64, 48, 300];
    const bands = Array.from({ length: 6 }, (_, i) => [w, h, maxIter, i * 8, i * 8 + 8] as const);
    const parts = await pool.starmap(kernels.mandelbrot, bands.map((b) => [...b]));
    assert.ok(parts.every((p) => p instanceof Uint16Array && p.length === w * 8));
    const image = new Uint16Array(w * h);
    parts.forEach((p, i) => image.set(p, i * w * 8));
    assert.deepEqual(image, ts.mandelbrot(w, h, maxIter, 0, h));
  });
});

Deno.test("typed-array kernels through the pool match the reference", async () => {
  const rand = random(SEED);
  const a = Float64Array.from({ length: 1001 }, () => rand() - 0.5);
  const b = Float64Array.from({ length: 1001 }, () => rand() - 0.5);
  const blobs = Array.from(
    { length: 8 },
    (_, i) => Uint8Array.from({ length: 100 * i }, () => Math.floor(rand() * 256)),
  );
  await withPool({ size: 2 }, async (pool) => {
    assert.equal(await pool.apply(kernels.sum, [a]), ts.sum(a), `seed ${SEED}`);
    assert.equal(await pool.apply(kernels.dot, [a, b]), ts.dot(a, b), `seed ${SEED}`);
    assert.deepEqual(await pool.map(kernels.fnv1a32, blobs), blobs.map(ts.fnv1a32));
    assert.equal((await pool.apply(kernels.nbody, [1000])).toFixed(9), "-0.169087605");
    // The inputs are copied, not transferred: still usable here.
    assert.equal(a.length, 1001);
  });
});

Deno.test("a trap fails only its task; the worker and its instance keep working", async () => {
  await withPool({ size: 1 }, async (pool) => {
    await assert.rejects(pool.apply(kernels.mandelbrot, [4, 4, 70000, 0, 4]), (error) => {
      assert.ok(error instanceof RemoteError);
      assert.equal(error.cause.name, "RuntimeError");
      return true;
    });
    await assert.rejects(
      pool.apply(kernels.dot, [new Float64Array(2), new Float64Array(3)]),
      RemoteError,
    );
    assert.equal(await pool.apply(kernels.countPrimes, [0, 100]), 25);
    const stats = pool.stats();
    assert.equal(stats.replaced, 0);
    assert.equal(stats.wasmInstantiations, 1);
  });
});

Deno.test("a wasmModule() module runs through the pool", async () => {
  const bytes = await Deno.readFile(new URL("../asm/build/kernels.wasm", import.meta.url));
  const mine = await wasmModule<{ dotScalar(a: Float64Array, b: Float64Array): number }>(bytes);
  await withPool({ size: 2 }, async (pool) => {
    const pairs = Array.from({ length: 6 }, (_, i) => {
      const a = Float64Array.from({ length: i * 10 }, (_, j) => j);
      return [a, a] as [Float64Array, Float64Array];
    });
    assert.deepEqual(
      await pool.starmap(mine.dotScalar, pairs),
      pairs.map(([a, b]) => ts.dotScalar(a, b)),
    );
  });
});
