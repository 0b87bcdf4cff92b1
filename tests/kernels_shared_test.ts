// Kernels and shared memory (issue 13, point 5): on threads a typed array
// over a SharedArrayBuffer reaches the worker shared (no structured-clone
// copy on the host, none in the worker) and a kernel copies it into WASM
// memory once; on the process and NATS backends, which cannot share memory,
// its bytes are copied, a bare SharedArrayBuffer included.

import assert from "node:assert/strict";
import { mock } from "node:test";
import * as ts from "../bench/kernels_ts.ts";
import { kernels, Pool, transfer } from "../mod.ts";
import { encodeFrame, FrameReader } from "../src/_frames.ts";
import { decode, encode } from "../src/_nats_wire.ts";
import { callExport, instantiate } from "../src/_wasm_call.ts";
import { compileKernels } from "../src/kernels.ts";
import { random } from "./_random.ts";
import { withPool } from "./_helpers.ts";
import { natsTest, withCluster } from "./_nats_helpers.ts";

const SEED = Number(Deno.env.get("MULTIPOOL_SEED") ?? 13);

/** `n` random doubles in a Float64Array over a SharedArrayBuffer. */
function sharedF64(rand: () => number, n: number): Float64Array<SharedArrayBuffer> {
  const a = new Float64Array(new SharedArrayBuffer(8 * n));
  for (let i = 0; i < n; i++) a[i] = rand() - 0.5;
  return a;
}

/** The same numbers over a plain ArrayBuffer. */
function plainCopy(a: Float64Array): Float64Array<ArrayBuffer> {
  return Float64Array.from(a);
}

/** Writes `mark` at `a[at]` in the worker; says what the worker's array is backed by. */
const writeAt = (a: Float64Array, at: number, mark: number): string => {
  a[at] = mark;
  return a.buffer.constructor.name;
};

/** Same as writeAt for map: one argument. */
const writeFirst = (a: Float64Array): string => {
  a[0] = -1;
  return a.buffer.constructor.name;
};

for (const sandboxed of [false, true]) {
  // Sandboxed threads are Web Workers; the others node:worker_threads.
  const options = sandboxed ? { size: 1, permissions: "none" as const } : { size: 1 };
  const label = sandboxed ? "thread (Web Worker)" : "thread";
  Deno.test(`${label}: a SharedArrayBuffer-backed array reaches the worker shared, not copied`, async () => {
    await withPool(options, async (pool) => {
      const a = new Float64Array(new SharedArrayBuffer(8 * 1024));
      assert.equal(await pool.apply(writeAt, [a, 1, 1.5]), "SharedArrayBuffer");
      assert.equal(a[1], 1.5, "apply: the worker's write is seen here");
      assert.deepEqual(await pool.starmap(writeAt, [[a, 2, 2.5], [a, 3, 3.5]]), [
        "SharedArrayBuffer",
        "SharedArrayBuffer",
      ]);
      assert.deepEqual([a[2], a[3]], [2.5, 3.5], "starmap");
      const views = [a.subarray(10), a.subarray(20)];
      assert.deepEqual(await pool.map(writeFirst, views), [
        "SharedArrayBuffer",
        "SharedArrayBuffer",
      ]);
      assert.deepEqual([a[10], a[20]], [-1, -1], "map: subarrays keep their offsets");
      // A transfer() marker has nothing to move (the list defaults to []): still shared.
      assert.deepEqual(await pool.map(writeFirst, [transfer(a.subarray(30))]), [
        "SharedArrayBuffer",
      ]);
      assert.equal(a[30], -1, "transfer() marker");
      assert.equal(a.length, 1024, "nothing was detached");
      for await (const kind of pool.imap(writeFirst, [a.subarray(40)])) {
        assert.equal(kind, "SharedArrayBuffer");
      }
      assert.equal(a[40], -1, "imap");
    });
  });
}

Deno.test("thread: kernels read a SharedArrayBuffer-backed array without a structured clone on the host", async () => {
  const rand = random(SEED);
  const a = sharedF64(rand, 100_001);
  const b = sharedF64(rand, 100_001);
  const [pa, pb] = [plainCopy(a), plainCopy(b)];
  await withPool({ size: 2 }, async (pool) => {
    // Warm up (compile, send the module) before spying.
    assert.equal(await pool.apply(kernels.sum, [pa]), ts.sum(pa), `seed ${SEED}`);
    const clone = mock.method(globalThis, "structuredClone");
    try {
      assert.equal(await pool.apply(kernels.sum, [a]), ts.sum(pa), `seed ${SEED}`);
      assert.equal(await pool.apply(kernels.dot, [a, b]), ts.dot(pa, pb), `seed ${SEED}`);
      assert.deepEqual(await pool.map(kernels.sum, [a, b, a.subarray(1)]), [
        ts.sum(pa),
        ts.sum(pb),
        ts.sum(pa.subarray(1)),
      ]);
      assert.deepEqual(await pool.starmap(kernels.dot, [[a, b], [b, b]]), [
        ts.dot(pa, pb),
        ts.dot(pb, pb),
      ]);
      // Shared and plain arguments mix, with a transfer list for the plain one.
      const moved = plainCopy(b);
      assert.equal(
        await pool.apply(kernels.dot, [a, moved], { transfer: [moved.buffer] }),
        ts.dot(pa, pb),
      );
      assert.equal(moved.length, 0, "the plain one moved");
      // A bare SharedArrayBuffer is not trial-cloned either.
      assert.equal(await pool.apply((x: ArrayBufferLike) => x.byteLength, [a.buffer]), 8 * 100_001);
      const touched = clone.mock.calls.filter(({ arguments: [value] }) => holdsShared(value));
      assert.equal(touched.length, 0, "structuredClone was called with a shared array");
    } finally {
      clone.mock.restore();
    }
  });
});

/** Whether `value` is, or directly holds, a SharedArrayBuffer or a view over one. */
function holdsShared(value: unknown, depth = 2): boolean {
  if (value instanceof SharedArrayBuffer) return true;
  if (ArrayBuffer.isView(value)) return value.buffer instanceof SharedArrayBuffer;
  if (depth === 0 || value === null || typeof value !== "object") return false;
  return Object.values(value).some((v) => holdsShared(v, depth - 1));
}

Deno.test("worker side: a kernel copies a SharedArrayBuffer-backed array into WASM memory once", async () => {
  const handle = instantiate(await compileKernels());
  const rand = random(SEED);
  const a = sharedF64(rand, 4099);
  const b = sharedF64(rand, 4099);
  const spec = kernels.dot.spec;
  assert.equal(spec.kind, "wasm");
  const typedArray = Object.getPrototypeOf(Uint8Array.prototype);
  const set = mock.method(typedArray, "set");
  const copies = [
    mock.method(typedArray, "slice"),
    mock.method(SharedArrayBuffer.prototype, "slice"),
    mock.method(Array, "from"),
    mock.method(globalThis, "structuredClone"),
  ];
  let result: unknown;
  try {
    result = callExport(handle, "dot", [a, b], spec.kind === "wasm" ? spec.abi : undefined);
  } finally {
    for (const spy of [set, ...copies]) spy.mock.restore();
  }
  assert.equal(result, ts.dot(plainCopy(a), plainCopy(b)), `seed ${SEED}`);
  const sources = set.mock.calls.map((call: { arguments: unknown[] }) =>
    (call.arguments[0] as Uint8Array).buffer
  );
  assert.deepEqual(sources, [a.buffer, b.buffer], "one copy of each array, from its shared memory");
  for (const spy of copies) assert.equal(spy.mock.callCount(), 0);
});

Deno.test("process: a SharedArrayBuffer cannot be shared with a process; its bytes are copied", async () => {
  const rand = random(SEED);
  const a = sharedF64(rand, 10_001);
  const pa = plainCopy(a);
  await withPool({ size: 1, backend: "process" }, async (pool) => {
    assert.equal(await pool.apply(kernels.sum, [a]), ts.sum(pa), `seed ${SEED}`);
    assert.deepEqual(await pool.map(kernels.sum, [a, a.subarray(5)]), [
      ts.sum(pa),
      ts.sum(pa.subarray(5)),
    ]);
    assert.deepEqual(await pool.starmap(kernels.dot, [[a, a]]), [ts.dot(pa, pa)]);
    // The worker gets a copy over a plain ArrayBuffer: its writes stay there.
    assert.equal(await pool.apply(writeAt, [a, 0, 99]), "ArrayBuffer");
    assert.equal(a[0], pa[0], "the host's array is unchanged");
    // A bare SharedArrayBuffer is copied too (the same copy wherever it occurs).
    const shared = new SharedArrayBuffer(16);
    new Uint8Array(shared).set([1, 2, 3]);
    const seen = await pool.apply((x: { one: ArrayBufferLike; again: ArrayBufferLike }) => [
      x.one.constructor.name,
      x.one === x.again,
      [...new Uint8Array(x.one, 0, 4)],
    ], [{ one: shared, again: shared }]);
    assert.deepEqual(seen, ["ArrayBuffer", true, [1, 2, 3, 0]]);
    assert.deepEqual(
      await pool.map((x: ArrayBufferLike) => x.byteLength, [shared, new SharedArrayBuffer(3)]),
      [16, 3],
    );
  });
});

Deno.test("the process and NATS codecs copy a SharedArrayBuffer and keep its references", () => {
  const shared = new SharedArrayBuffer(8);
  new Uint8Array(shared)[0] = 7;
  const view = new Int32Array(shared);
  const message = [0, 1, [[shared, new Map([["s", shared]]), view]], 1];
  const check = (decoded: unknown) => {
    const [one, map, copied] =
      (decoded as [unknown, unknown, [[ArrayBuffer, Map<string, ArrayBuffer>, Int32Array]]])[2][0];
    assert.ok(one instanceof ArrayBuffer && !(one instanceof SharedArrayBuffer));
    assert.equal(new Uint8Array(one)[0], 7);
    assert.equal(map.get("s"), one, "the same copy wherever it occurs");
    assert.ok(copied instanceof Int32Array && copied.buffer instanceof ArrayBuffer);
    assert.equal(copied[0], 7);
  };
  let frames = 0;
  new FrameReader().push(encodeFrame(message), (decoded) => {
    frames++;
    check(decoded);
  }, () => assert.fail("no text"));
  assert.equal(frames, 1);
  check(decode(encode(message)));
  // Other values that cannot be cloned still fail.
  assert.throws(() => encodeFrame([shared, () => 1]), /could not be cloned/);
  assert.throws(() => encode([() => 1]), /could not be cloned/);
});

natsTest("nats: a SharedArrayBuffer-backed array reaches a remote worker as a copy", async () => {
  await withCluster({ workers: 1, args: ["--allow-inline"] }, async (cluster) => {
    await using pool = new Pool({ size: 1, backend: cluster.backend() });
    const rand = random(SEED);
    const a = sharedF64(rand, 10_001);
    const pa = plainCopy(a);
    assert.equal(await pool.apply(kernels.sum, [a]), ts.sum(pa), `seed ${SEED}`);
    assert.equal(await pool.apply(writeAt, [a, 0, 99]), "ArrayBuffer");
    assert.equal(a[0], pa[0], "the host's array is unchanged");
    assert.equal(await pool.apply((x: ArrayBufferLike) => x.byteLength, [a.buffer]), 8 * 10_001);
  });
});
