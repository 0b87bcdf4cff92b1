// Zero-copy arguments (issue 13, point 4): the transfer option of apply, and
// the transfer() marker for map items. A moved buffer is detached in the
// caller; bad transfer lists fail the call with a TypeError naming them.

import assert from "node:assert/strict";
import { transfer } from "../mod.ts";
import { rejectsAtCall, tasks, withPool } from "./_helpers.ts";

/** Sums a Float64Array in the worker. */
const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);

function filled(n: number, value = 1): Float64Array<ArrayBuffer> {
  return new Float64Array(n).fill(value);
}

Deno.test("apply: the transfer option moves the buffer; it is detached here", async () => {
  await withPool({ size: 1 }, async (pool) => {
    const big = filled(1 << 20, 2);
    assert.equal(await pool.apply(sum, [big], { transfer: [big.buffer] }), 2 * (1 << 20));
    assert.equal(big.length, 0);
    assert.equal(big.buffer.detached, true);
    const kept = filled(10);
    assert.equal(await pool.apply(sum, [kept]), 10, "without transfer: copied");
    assert.equal(kept.length, 10);
  });
});

Deno.test("apply: a transfer() marker among the arguments moves too", async () => {
  await withPool({ size: 1 }, async (pool) => {
    const a = filled(100, 3);
    const b = filled(100, 4);
    const both = (x: Float64Array, y: Float64Array) => x[0] + y[0] + x.length + y.length;
    assert.equal(await pool.apply(both, [transfer(a), b], { transfer: [b.buffer] }), 207);
    assert.equal(a.length, 0);
    assert.equal(b.length, 0);
  });
});

Deno.test("map, starmap and imap: transfer() moves each marked item", async () => {
  await withPool({ size: 2 }, async (pool) => {
    const blobs = [filled(1000, 1), filled(2000, 2), filled(10, 5)];
    const sums = await pool.map(sum, blobs.map((b) => transfer(b)), { chunksize: 1 });
    assert.deepEqual(sums, [1000, 4000, 50]);
    assert.deepEqual(blobs.map((b) => b.length), [0, 0, 0]);

    const pairs = [filled(4, 1), filled(4, 2)].map((a, i) =>
      transfer<[Float64Array, number]>([a, i], [a.buffer])
    );
    const scaled = await pool.starmap((a: Float64Array, k: number) => a[0] * 10 + k, pairs);
    assert.deepEqual(scaled, [10, 21]);

    const made: Float64Array[] = [];
    function* arrays() {
      for (let i = 1; i <= 20; i++) {
        const a = filled(100, i);
        made.push(a);
        yield transfer(a);
      }
    }
    const seen: number[] = [];
    for await (const s of pool.imap(sum, arrays())) seen.push(s);
    assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => 100 * (i + 1)));
    assert.ok(made.every((a) => a.length === 0), "every generated array was moved");
  });
});

Deno.test("transfer(): an ArrayBuffer moves itself; other values need a list", () => {
  const buffer = new ArrayBuffer(8);
  assert.equal(transfer(buffer) === (buffer as unknown), false, "a marker, not the value");
  assert.throws(() => transfer({ a: 1 }), {
    name: "TypeError",
    message: /Argument transferables is required unless value is an ArrayBuffer or a typed array/,
  });
  assert.throws(() => transfer({ a: 1 }, [{} as ArrayBuffer]), {
    name: "TypeError",
    message: /transferables\[0\] cannot be transferred: expected an ArrayBuffer or a MessagePort/,
  });
  assert.throws(() => transfer(buffer, [buffer, buffer]), {
    name: "TypeError",
    message: /transferables\[1\] is listed twice/,
  });
});

Deno.test("bad transfer lists reject the call with a TypeError naming them; nothing is sent", async () => {
  await withPool({ size: 1 }, async (pool) => {
    await pool.apply(tasks.square, [1]);
    const before = pool.stats().completed;
    const a = filled(8);
    const shared = new Float64Array(new SharedArrayBuffer(64));
    const moved = filled(8);
    await pool.apply(sum, [moved], { transfer: [moved.buffer] });
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      [
        "twice",
        () => pool.apply(sum, [a], { transfer: [a.buffer, a.buffer] }),
        /transfer\[1\] is listed twice/,
      ],
      [
        "detached",
        () => pool.apply(sum, [a], { transfer: [moved.buffer] }),
        /transfer\[0\] is a detached ArrayBuffer/,
      ],
      [
        "shared",
        () => pool.apply(sum, [shared], { transfer: [shared.buffer as unknown as ArrayBuffer] }),
        /transfer\[0\] cannot be transferred: .*SharedArrayBuffer/,
      ],
      [
        "not an array",
        () => pool.apply(sum, [a], { transfer: a.buffer as unknown as ArrayBuffer[] }),
        /Option transfer must be an array/,
      ],
      [
        "a plain object",
        () => pool.apply(sum, [a], { transfer: [{}] as unknown as ArrayBuffer[] }),
        /transfer\[0\] cannot be transferred/,
      ],
    ];
    for (const [what, call, message] of cases) {
      await rejectsAtCall(call, { name: "TypeError", message }, what);
    }
    assert.equal(a.length, 8, "nothing was moved");
    assert.equal(pool.stats().completed, before + 1);
  });
});

Deno.test("map: a marked item whose buffer was moved already fails at its position", async () => {
  await withPool({ size: 1 }, async (pool) => {
    const a = filled(4);
    const again = transfer(a);
    await pool.apply(sum, [a], { transfer: [a.buffer] });
    await assert.rejects(pool.map(sum, [filled(2), again]), {
      name: "TypeError",
      message: /iterable\[1\] holds a detached ArrayBuffer/,
    });
  });
});

Deno.test("process backend: a transfer is a copy and the buffer stays usable", async () => {
  await withPool({ size: 1, backend: "process" }, async (pool) => {
    const a = filled(1000, 2);
    assert.equal(await pool.apply(sum, [a], { transfer: [a.buffer] }), 2000);
    assert.equal(a.length, 1000);
    assert.deepEqual(await pool.map(sum, [transfer(filled(3, 1))]), [3]);
  });
});
