// How chunks and answers travel between the host and a thread worker, and
// that each form reads back exactly: a call of one number that follows the
// last chunk sent to the same worker as the bare number, a one-number result
// as the bare number (`NextCall` and `SoleResult` in src/_protocol.ts: a
// number posts for a fraction of a JSON string), small chunks of plain
// values, alone or coalesced, as JSON text (far cheaper than a clone of
// nested arrays), anything else as a structured clone. Checked on the fake
// worker (what is posted) and on both local backends (values keep exactly).

import assert from "node:assert/strict";
import { RemoteError } from "../mod.ts";
import { fakePool, Outcomes, request } from "./_fake_backend.ts";
import { BACKENDS, withPool } from "./_helpers.ts";

Deno.test("next call: a one-number call right after the last chunk goes as the bare number", () => {
  const { scheduler, workers } = fakePool();
  const outcomes = new Outcomes();
  const w = workers.all[0];
  w.ready();
  const sequence: { item: unknown; items?: unknown[] }[] = [
    { item: 1 }, // the first chunk: no last chunk to follow on
    { item: 2 }, // follows on: a bare number
    { item: -0.5 }, // a bare number too
    { item: "three" }, // not a number
    { item: 4 }, // follows on again
    { item: 5, items: [5, 6] }, // two calls
    { item: 7 }, // follows on the two-call chunk
  ];
  sequence.forEach(({ item, items }, i) => {
    scheduler.submit(request(item, items === undefined ? {} : { items }), outcomes.for(i));
    w.reply(i, [i]);
  });
  const kinds = w.wire.filter((m) => typeof m !== "object").map((m) => typeof m);
  assert.deepEqual(kinds, ["string", "number", "number", "string", "number", "string", "number"]);
  assert.deepEqual(w.wire.filter((m) => typeof m === "number"), [2, -0.5, 4, 7]);
  // Read as a worker reads them: the full chunks, ids in order.
  assert.deepEqual(w.chunks().map(([id, , items]) => [id, items]), [
    [0, [1]],
    [1, [2]],
    [2, [-0.5]],
    [3, ["three"]],
    [4, [4]],
    [5, [5, 6]],
    [6, [7]],
  ]);
  outcomes.allSettledOnce(sequence.map((_, i) => i));
  scheduler.terminate();
});

Deno.test("next call: a chunk that does not follow on the last one (another id, task or star) goes in full", () => {
  const { scheduler, workers } = fakePool({ size: 2 });
  const outcomes = new Outcomes();
  const [a, b] = workers.all;
  a.ready();
  scheduler.submit(request(0), outcomes.for(0)); // times the task: now it is known to be cheap
  a.reply(0, [0]);
  b.ready();
  // Chunks 1 and 2 to the two workers, chunk 3 behind one of them (pipelined).
  for (let i = 1; i <= 3; i++) scheduler.submit(request(i), outcomes.for(i));
  const holder3 = workers.holding(3);
  const after = holder3.chunkIds().at(-2);
  assert.ok(after === 1 || after === 2, `chunk 3 went behind chunk ${after}`);
  // It follows on chunk 2 only.
  assert.equal(typeof holder3.wire.at(-1), after === 2 ? "number" : "string");
  for (let i = 1; i <= 3; i++) workers.holding(i).reply(i, [i]);
  // A star chunk after plain ones, of the same task and the next id: in full.
  scheduler.submit({ ...request(0, { items: [[9]] }), star: true }, outcomes.for(4));
  const star = workers.holding(4);
  assert.equal(typeof star.wire.at(-1), "string");
  assert.deepEqual(star.chunks().at(-1), [4, 0, [[9]], 1]);
  scheduler.terminate();
});

Deno.test("next call: a chunk that could not be sent is not followed on", () => {
  const { scheduler, workers } = fakePool();
  const outcomes = new Outcomes();
  const w = workers.all[0];
  w.ready();
  scheduler.submit(request(1), outcomes.for(0));
  w.reply(0, [1]);
  w.refuseNext = true;
  scheduler.submit(request(2), outcomes.for(1));
  assert.equal(outcomes.of(1).ok, false, "the refused chunk fails");
  // Chunk 2 does not follow on chunk 1 (never sent), nor on chunk 0 (not the one before).
  scheduler.submit(request(3), outcomes.for(2));
  assert.equal(typeof w.wire.at(-1), "string");
  assert.deepEqual(w.chunks().at(-1)?.slice(0, 3), [2, 0, [3]]);
  w.reply(2, [3]);
  assert.deepEqual(outcomes.results(2), [3]);
  scheduler.terminate();
});

/** One ready fake worker that ran chunk 0 of the task, at no cost: chunks of it now pipeline. */
function cheapTask() {
  const { scheduler, workers } = fakePool();
  const outcomes = new Outcomes();
  const w = workers.all[0];
  w.ready();
  scheduler.submit(request(0), outcomes.for(0)); // times the task: now it is known to be cheap
  w.reply(0, [0]);
  return { scheduler, outcomes, w };
}

Deno.test("sole result: a bare-number answer settles the oldest chunk the worker holds", () => {
  const { scheduler, outcomes, w } = cheapTask();
  // Pipelined: two chunks in the worker's hands.
  scheduler.submit(request(1), outcomes.for(1));
  scheduler.submit(request(2), outcomes.for(2));
  assert.deepEqual(w.chunkIds(), [0, 1, 2]);
  w.answer(10);
  assert.deepEqual(outcomes.results(1), [10]);
  assert.equal(outcomes.has(2), false);
  w.answer(20);
  assert.deepEqual(outcomes.results(2), [20]);
  w.answer(30); // nothing held: ignored
  outcomes.allSettledOnce([0, 1, 2]);
  scheduler.terminate();
});

Deno.test("sole result: after a drop, a bare-number answer goes to the chunk still held", () => {
  const { scheduler, outcomes, w } = cheapTask();
  const controller = new AbortController();
  scheduler.submit(request(1), outcomes.for(1));
  scheduler.submit(request(2, { signal: controller.signal }), outcomes.for(2));
  assert.deepEqual(w.chunkIds(), [0, 1, 2], "chunk 2 waits in the worker");
  controller.abort(new Error("not wanted"));
  assert.equal(outcomes.of(2).ok, false);
  assert.deepEqual(w.received.at(-1), { type: "drop", ids: [2] });
  w.dropped([2]);
  scheduler.submit(request(3), outcomes.for(3));
  assert.deepEqual(w.chunkIds(), [0, 1, 2, 3]);
  w.answer(10);
  assert.deepEqual(outcomes.results(1), [10]);
  w.answer(30);
  assert.deepEqual(outcomes.results(3), [30]);
  outcomes.allSettledOnce([0, 1, 2, 3]);
  scheduler.terminate();
});

Deno.test("batch: coalesced calls of plain values go as JSON text; others are cloned", () => {
  const { scheduler, outcomes, w } = cheapTask();
  // Chunk 1 runs, chunk 2 waits in the worker, chunks 3-5 and then 6-8 queue and go coalesced.
  const items = [1, 2, "three", [4], { five: 5 }, -0, NaN, 8];
  items.forEach((item, i) => scheduler.submit(request(item), outcomes.for(i + 1)));
  w.reply(1, [1]);
  assert.deepEqual(w.chunks().at(-1)?.[0], [3, 4, 5, 6, 7, 8]);
  // -0 and NaN would not keep through JSON: this batch is a clone.
  assert.ok(Array.isArray(w.wire.at(-1)), "a batch holding -0 or NaN is cloned");
  w.reply(2, [2]);
  w.replyAll([3, 4, 5, 6, 7, 8], [[3], [4], [5], [6], [7], [8]]);
  // Now three plain calls behind a running one: JSON text.
  scheduler.submit(request(9), outcomes.for(9));
  scheduler.submit(request(10), outcomes.for(10));
  for (let i = 11; i <= 13; i++) scheduler.submit(request(`s${i}`), outcomes.for(i));
  w.reply(9, [9]);
  const last = w.wire.at(-1);
  assert.equal(typeof last, "string", "a batch of plain values is JSON text");
  assert.deepEqual(JSON.parse(last as string), [[11, 12, 13], 0, [["s11"], ["s12"], ["s13"]], 0]);
  scheduler.terminate();
});

/** `promise`, or a rejection after 30 s (a lost answer fails the test instead of hanging it). */
async function withDeadline<T>(promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("No answer within 30 s")), 30_000);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

for (const backend of BACKENDS) {
  Deno.test(`[${backend}] next call: numbers keep exactly both ways, and other answers mix in`, async () => {
    await withPool({ size: 1, backend, taskTimeout: 10_000 }, async (pool) => {
      const echo = (x: unknown) => x;
      const values = [1, -0, NaN, Infinity, -Infinity, 2 ** 53 + 2, 1.5, -7, 2 ** 31, 5e-324];
      for (const value of values) {
        const result = await pool.apply(echo, [value]);
        assert.ok(Object.is(result, value), `${value} came back as ${result}`);
      }
      const mixed = (x: number) => x > 2 ? `big ${x}` : x < 0 ? [x] : x;
      for (const [x, expected] of [[1, 1], [3, "big 3"], [2, 2], [-1, [-1]], [0, 0]] as const) {
        assert.deepEqual(await pool.apply(mixed, [x]), expected);
      }
      const twice = async (x: number) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return x * 2;
      };
      for (let i = 0; i < 5; i++) assert.equal(await pool.apply(twice, [i]), i * 2);
    });
  });

  Deno.test(`[${backend}] batch: coalesced calls and their answers keep their values exactly`, async () => {
    // No timeout: a call with one travels alone, never coalesced.
    await withPool({ size: 1, backend }, async (pool) => {
      const echo = (x: unknown) => x;
      await pool.apply(echo, [0]); // times the task: cheap calls queued together now coalesce
      const values: unknown[] = [
        1,
        -0,
        NaN,
        Infinity,
        "text",
        "ünïcode ✓",
        true,
        null,
        [1, [2, "x"]],
        { a: 1, b: [null] },
        2 ** 53 + 2,
        undefined,
        5e-324,
        "",
      ];
      const many = Array.from({ length: 600 }, (_, i) => values[i % values.length]);
      const results = await withDeadline(
        Promise.all(many.map((value) => pool.apply(echo, [value]))),
      );
      results.forEach((result, i) => assert.deepEqual(result, many[i], `call ${i}`));
      assert.equal(pool.stats().completed, 601);
    });
  });

  Deno.test(`[${backend}] next call: a failing call is reported as itself, and the next ones still run`, async () => {
    await withPool({ size: 1, backend, taskTimeout: 10_000 }, async (pool) => {
      const odd = (x: number) => {
        if (x % 2 === 1) throw new RangeError(`odd ${x}`);
        return x;
      };
      for (let x = 0; x < 8; x++) {
        if (x % 2 === 0) {
          assert.equal(await pool.apply(odd, [x]), x);
          continue;
        }
        await assert.rejects(pool.apply(odd, [x]), (error: unknown) => {
          assert.ok(error instanceof RemoteError);
          assert.match(error.message, new RegExp(`odd ${x}$`));
          return true;
        });
      }
      // Plain map items of one per chunk follow on each other too.
      const xs = [0, 2, 4, 6, 8, 10];
      assert.deepEqual(await pool.map(odd, xs, { chunksize: 1 }), xs);
      assert.equal(pool.stats().completed, 4 + xs.length);
    });
  });
}
