// imap / imapUnordered (issue 3 points 1-6): ordering, sync and async
// sources, bounded read-ahead, cancellation, errors, no lost or duplicated
// results, close() during a stream. Every test asserts through withPool()
// that no worker is left alive.

import assert from "node:assert/strict";
import { PoolClosedError, RemoteError, TaskTimeoutError } from "../mod.ts";
import {
  counting,
  delay,
  drain,
  range,
  sharedCounter,
  tasks,
  timed,
  warmUp,
  withPool,
} from "./_helpers.ts";

/** The async twin of {@linkcode counting}: items arrive after a microtask, every 50th after a timer. */
function countingAsync(n = Infinity) {
  const state = { produced: 0, closed: false };
  async function* generate(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < n; i++) {
        await (i % 50 === 0 ? delay(0) : null);
        state.produced++;
        yield i;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, source: generate() };
}

const squares = (n: number) => range(n).map((x) => x * x);

/** Waits until `condition()` holds (an async source finishes its `finally` after its pending step). */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 2000) assert.fail(`${what} within 2 s`);
    await delay(10);
  }
}

Deno.test("imap yields in input order, imapUnordered in completion order", async (t) => {
  await t.step("imap keeps input order whatever the completion order", async () => {
    await withPool({ size: 2 }, async (pool) => {
      const sleeps = [300, 10, 150, 0, 60];
      const seen: number[] = [];
      for await (const ms of pool.imap(tasks.sleepMs, sleeps, { chunksize: 1 })) seen.push(ms);
      assert.deepEqual(seen, sleeps);
    });
  });

  await t.step("imapUnordered yields each result as it arrives", async () => {
    await withPool({ size: 2 }, async (pool) => {
      await warmUp(pool);
      // One worker sleeps 900 ms; the other does 50 then 300.
      const seen: number[] = [];
      for await (const ms of pool.imapUnordered(tasks.sleepMs, [900, 50, 300], { chunksize: 1 })) {
        seen.push(ms);
      }
      assert.deepEqual(seen, [50, 300, 900]);
    });
  });

  await t.step("results are typed by the task", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const lengths: number[] = [];
      for await (const y of pool.imap((s: string) => s.length, ["a", "bb"])) lengths.push(y);
      for await (const y of pool.imapUnordered(tasks.square, [3])) lengths.push(y);
      assert.deepEqual(lengths, [1, 2, 9]);
    });
  });
});

Deno.test("imap takes any Iterable or AsyncIterable", async () => {
  await withPool({ size: 2 }, async (pool) => {
    const expected = squares(30);
    const sources: [string, () => Iterable<number> | AsyncIterable<number>][] = [
      ["array", () => range(30)],
      ["Set", () => new Set(range(30))],
      ["generator", () => counting(30).source],
      ["iterable object", () => ({ [Symbol.iterator]: () => range(30)[Symbol.iterator]() })],
      ["async generator", () => countingAsync(30).source],
      ["ReadableStream", () => ReadableStream.from(range(30))],
    ];
    for (const [what, make] of sources) {
      for (const chunksize of [undefined, 1, 4, 100]) {
        const { values, error } = await drain(pool.imap(tasks.square, make(), { chunksize }));
        assert.equal(error, undefined, `${what} chunksize ${chunksize}`);
        assert.deepEqual(values, expected, `${what} chunksize ${chunksize}`);
        const unordered = await drain(pool.imapUnordered(tasks.square, make(), { chunksize }));
        assert.deepEqual(unordered.values.sort((a, b) => a - b), expected, `${what} unordered`);
      }
    }
    assert.deepEqual((await drain(pool.imap(tasks.square, []))).values, []);
    // Numbers, then other values, then numbers again, in chunks big enough to pack.
    const mixed = [...range(20), "x", null, { a: 1 }, ...range(40)];
    for (const chunksize of [16, 32, 100]) {
      const { values } = await drain(pool.imap((x: unknown) => x, mixed.values(), { chunksize }));
      assert.deepEqual(values, mixed, `chunksize ${chunksize}`);
    }
  });
});

Deno.test("read-ahead is bounded by buffersize chunks", async (t) => {
  await t.step("sync source, consumer paused", async () => {
    await withPool({ size: 2 }, async (pool) => {
      const { state, source } = counting(1000);
      const stream = pool.imap(tasks.square, source, { chunksize: 2, buffersize: 3 });
      assert.deepEqual(await stream.next(), { value: 0, done: false });
      await delay(300);
      assert.ok(state.produced <= 3 * 2 + 1, `produced ${state.produced} while paused`);
      let taken = 1;
      for await (const y of stream) {
        assert.equal(y, taken * taken);
        taken++;
        if (taken === 500) {
          await delay(100);
          assert.ok(state.produced <= 500 + 3 * 2 + 1, `produced ${state.produced} at 500`);
        }
      }
      assert.equal(taken, 1000);
    });
  });

  await t.step("async source, consumer paused", async () => {
    await withPool({ size: 2 }, async (pool) => {
      const { state, source } = countingAsync();
      const stream = pool.imapUnordered(tasks.square, source, { chunksize: 4, buffersize: 2 });
      await stream.next();
      await delay(300);
      assert.ok(state.produced <= 2 * 4 + 1, `produced ${state.produced} while paused`);
      await stream.return!();
      await eventually(() => state.closed, "the source's finally ran");
    });
  });

  await t.step("the default buffersize is 4 * size chunks", async () => {
    await withPool({ size: 2 }, async (pool) => {
      const { state, source } = counting();
      const stream = pool.imap(tasks.square, source, { chunksize: 5 });
      await stream.next();
      await delay(300);
      assert.ok(state.produced <= 4 * 2 * 5 + 1, `produced ${state.produced} while paused`);
      assert.ok(state.produced >= 5, "read-ahead did not happen at all");
      await stream.return!();
    });
  });

  await t.step("the default chunksize on an endless source stays bounded too", async () => {
    await withPool({ size: 2 }, async (pool) => {
      const { state, source } = counting();
      const stream = pool.imap((x: number) => x + 1, source);
      let last = 0;
      for await (const y of stream) {
        last = y;
        if (y === 50_000) break;
      }
      assert.equal(last, 50_000);
      assert.equal(state.closed, true);
      // At most 4 * size chunks of at most 4096 items were read ahead.
      assert.ok(state.produced <= 50_000 + 8 * 4096, `produced ${state.produced}`);
    });
  });

  await t.step("a stream that is never iterated pulls nothing", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const { state, source } = counting();
      const stream = pool.imap(tasks.square, source);
      await delay(100);
      assert.equal(state.produced, 0);
      await stream.return!();
      assert.equal(pool.stats().completed, 0);
    });
  });
});

Deno.test("the default imap chunksize starts at 1 and grows for cheap tasks", async () => {
  await withPool({ size: 2 }, async (pool) => {
    const ids: string[] = [];
    for await (const id of pool.imap(tasks.chunkId, range(20_000))) ids.push(id);
    const chunks = new Map<string, number>();
    for (const id of ids) chunks.set(id, (chunks.get(id) ?? 0) + 1);
    const sizes = [...chunks.values()];
    assert.equal(sizes[0], 1, "the first chunk has one item");
    assert.ok(Math.max(...sizes) <= 4096);
    assert.ok(chunks.size < 1000, `${chunks.size} chunks for 20000 cheap items`);
  });
});

Deno.test("leaving a stream early stops the source and the pool stays usable", async (t) => {
  await t.step("break calls the source's return() and drops chunks not started", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const counter = sharedCounter();
      const { state, source } = counting(100);
      const args = (function* () {
        for (const i of source) yield [counter, 100, i] as [Int32Array, number, number];
      })();
      for await (const value of pool.imap(tasks.counted, args, { chunksize: 1, buffersize: 4 })) {
        assert.equal(value, 0);
        break;
      }
      assert.equal(state.closed, true, "the source's finally did not run");
      await delay(400);
      // The first item and the one running at the break; the queued ones never ran.
      assert.ok(counter[0] <= 2, `${counter[0]} items ran`);
      assert.equal(pool.stats().queued, 0);
      assert.equal(await pool.apply(tasks.square, [5]), 25);
    });
  });

  await t.step("break out of an async source and out of imapUnordered", async () => {
    await withPool({ size: 2 }, async (pool) => {
      const { state, source } = countingAsync();
      for await (const y of pool.imapUnordered(tasks.square, source, { chunksize: 3 })) {
        if (y >= 0) break;
      }
      // return() was called; the async generator runs its finally after its pending step.
      await eventually(() => state.closed, "the source's finally ran");
      assert.deepEqual(await pool.map(tasks.square, [1, 2, 3]), [1, 4, 9]);
    });
  });

  await t.step("return from inside the loop", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const { state, source } = counting();
      const firstAbove = async (limit: number) => {
        for await (const y of pool.imap(tasks.square, source, { chunksize: 2 })) {
          if (y > limit) return y;
        }
        return undefined;
      };
      assert.equal(await firstAbove(50), 64);
      assert.equal(state.closed, true);
    });
  });

  await t.step("an exception in the loop body propagates and closes the source", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const { state, source } = counting(100);
      const bug = new Error("loop body failed");
      await assert.rejects(
        (async () => {
          for await (const y of pool.imap(tasks.square, source, { chunksize: 1 })) {
            if (y === 9) throw bug;
          }
        })(),
        (e) => e === bug,
      );
      assert.equal(state.closed, true);
      assert.equal(await pool.apply(tasks.add, [1, 1]), 2);
    });
  });

  await t.step("return() by hand ends the stream; next() then reports done", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const { state, source } = counting();
      const stream = pool.imap(tasks.square, source);
      assert.deepEqual(await stream.next(), { value: 0, done: false });
      assert.deepEqual(await stream.return!(), { value: undefined, done: true });
      assert.deepEqual(await stream.next(), { value: undefined, done: true });
      assert.equal(state.closed, true);
    });
  });
});

Deno.test("an aborted signal ends the stream with signal.reason", async (t) => {
  await t.step("abort while the consumer waits for a slow chunk", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const controller = new AbortController();
      const { state, source } = counting();
      const stream = pool.imap(
        (x: number) => new Promise((r) => setTimeout(r, 10_000, x)),
        source,
        {
          chunksize: 1,
          signal: controller.signal,
        },
      );
      const reason = new Error("user cancelled");
      setTimeout(() => controller.abort(reason), 200);
      const { ms, error } = await timed(drain(stream).then((r) => Promise.reject(r.error)));
      assert.equal(error, reason);
      assert.ok(ms < 3000, `ended after ${ms} ms while a chunk sleeps 10 s`);
      assert.equal(state.closed, true);
      assert.equal(pool.stats().queued, 0);
      assert.equal(await pool.apply(tasks.square, [4]), 16, "the pool is usable");
    });
  });

  await t.step("a signal aborted before the first next() pulls nothing", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const { state, source } = counting();
      const signal = AbortSignal.abort("too late");
      const { values, error } = await drain(pool.imapUnordered(tasks.square, source, { signal }));
      assert.deepEqual(values, []);
      assert.equal(error, "too late");
      assert.equal(state.produced, 0);
    });
  });
});

Deno.test("errors end the stream at the right place", async (t) => {
  const failAtFive = (x: number) => {
    if (x === 5) throw new RangeError("five");
    return x;
  };

  await t.step("imap: a failing item ends it at its position, earlier results first", async () => {
    await withPool({ size: 2 }, async (pool) => {
      const { values, error } = await drain(pool.imap(failAtFive, range(20), { chunksize: 1 }));
      assert.deepEqual(values, [0, 1, 2, 3, 4]);
      assert.ok(error instanceof RemoteError, String(error));
      assert.equal(error.cause.name, "RangeError");
      assert.equal(error.cause.message, "five");
    });
  });

  await t.step("chunks after a failing one never start", async () => {
    await withPool({ size: 1 }, async (pool) => {
      for (const method of ["imap", "imapUnordered"] as const) {
        const counter = sharedCounter();
        const items = (function* () {
          yield [counter, 50, "fail"] as [Int32Array, number, number | "fail"];
          for (const i of range(20)) yield [counter, 0, i] as [Int32Array, number, number];
        })();
        const { values, error } = await drain(
          pool[method](tasks.counted, items, { chunksize: 1, buffersize: 8 }),
        );
        assert.deepEqual(values, []);
        assert.ok(error instanceof RemoteError, String(error));
        await delay(200);
        assert.equal(counter[0], 1, `${method}: ${counter[0]} items started`);
      }
    });
  });

  await t.step(
    "imap with chunksize 3: the items before the failing one in its chunk are yielded",
    async () => {
      await withPool({ size: 2 }, async (pool) => {
        // Item 5 is in the chunk [3, 4, 5]: 3 and 4 still arrive, then the error.
        const { values, error } = await drain(pool.imap(failAtFive, range(20), { chunksize: 3 }));
        assert.deepEqual(values, [0, 1, 2, 3, 4]);
        assert.ok(error instanceof RemoteError);
        assert.equal(error.cause.message, "five");
      });
    },
  );

  await t.step("async items of one chunk: every result before the failure is yielded", async () => {
    await withPool({ size: 1 }, async (pool) => {
      // Later items finish first and item 6 fails before items 0-5 resolve.
      const slowFirst = (x: number) =>
        new Promise((resolve, reject) =>
          setTimeout(() => (x === 6 ? reject(new Error("six")) : resolve(x)), 60 - 5 * x)
        );
      const { values, error } = await drain(pool.imap(slowFirst, range(12), { chunksize: 12 }));
      assert.deepEqual(values, [0, 1, 2, 3, 4, 5]);
      assert.ok(error instanceof RemoteError);
      assert.equal(error.cause.message, "six");
    });
  });

  await t.step("imapUnordered: ends when the failure arrives", async () => {
    await withPool({ size: 2 }, async (pool) => {
      await warmUp(pool);
      const stream = pool.imapUnordered(
        (ms: number) =>
          new Promise((resolve, reject) =>
            setTimeout(() => (ms === 200 ? reject(new TypeError("late failure")) : resolve(ms)), ms)
          ),
        [10, 200, 10_000, 5],
        { chunksize: 1 },
      );
      const { ms, value } = await timed(drain(stream));
      assert.ok(ms < 3000, `ended after ${ms} ms while a chunk sleeps 10 s`);
      assert.deepEqual(value?.values, [10]);
      assert.ok(value?.error instanceof RemoteError);
      assert.equal(value.error.cause.name, "TypeError");
      assert.equal(await pool.apply(tasks.square, [3]), 9);
    });
  });

  await t.step(
    "an error thrown by the source reaches the consumer after the results before it",
    async () => {
      await withPool({ size: 2 }, async (pool) => {
        const broken = new Error("source broke");
        function* sync() {
          yield* range(5);
          throw broken;
        }
        async function* later() {
          for (const x of range(5)) {
            await delay(1);
            yield x;
          }
          throw broken;
        }
        for (const chunksize of [1, 2, 3, 32, undefined]) {
          for (const make of [sync, later]) {
            const ordered = await drain(pool.imap(tasks.square, make(), { chunksize }));
            assert.equal(ordered.error, broken, `${make.name} chunksize ${chunksize}`);
            assert.deepEqual(ordered.values, squares(5), `${make.name} chunksize ${chunksize}`);
            // Unordered too: the results in flight come first, then the source's error.
            const unordered = await drain(pool.imapUnordered(tasks.square, make(), { chunksize }));
            assert.equal(unordered.error, broken);
            assert.deepEqual(unordered.values.sort((a, b) => a - b), squares(5));
          }
          await assert.rejects(pool.map(tasks.square, sync(), { chunksize }), (e) => e === broken);
        }
      });
    },
  );

  await t.step("an item that cannot be sent ends the stream at its position", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const items = [0, 1, 2, () => 3, 4];
      const { values, error } = await drain(
        pool.imap((x: unknown) => x, items, { chunksize: 2 }),
      );
      assert.deepEqual(values, [0, 1, 2]);
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /iterable\[3\]/);
    });
  });

  await t.step("a chunk timeout ends the stream with TaskTimeoutError", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const { values, error } = await drain(
        pool.imap(tasks.sleepMs, [1, 10_000, 1], { chunksize: 1, timeout: 200 }),
      );
      assert.deepEqual(values, [1]);
      assert.ok(error instanceof TaskTimeoutError, String(error));
    });
  });
});

Deno.test("no result is lost or duplicated", async () => {
  await withPool({ size: 2 }, async (pool) => {
    // Items take different times: some wait for a timer, others spin a little.
    const uneven = (x: number) => {
      const r = (x * 7919) % 10;
      if (r === 0) return new Promise<number>((resolve) => setTimeout(resolve, 1 + (x % 2), x));
      const end = performance.now() + r * 0.01;
      while (performance.now() < end) { /* spin */ }
      return x;
    };
    const n = 10_000;
    const unordered = await drain(pool.imapUnordered(uneven, counting(n).source, { chunksize: 7 }));
    assert.equal(unordered.error, undefined);
    assert.equal(unordered.values.length, n);
    assert.deepEqual(unordered.values.sort((a, b) => a - b), range(n));

    const ordered = await drain(pool.imap(uneven, countingAsync(2000).source, { chunksize: 7 }));
    assert.equal(ordered.error, undefined);
    assert.deepEqual(ordered.values, range(2000));

    // Two streams at once on one pool do not mix.
    const [a, b] = await Promise.all([
      drain(pool.imap((x: number) => -x, range(3000), { chunksize: 5 })),
      drain(pool.imapUnordered((x: number) => x + 0.5, range(3000), { chunksize: 3 })),
    ]);
    assert.deepEqual(a.values, range(3000).map((x) => -x));
    assert.deepEqual(b.values.sort((x, y) => x - y), range(3000).map((x) => x + 0.5));
  });
});

Deno.test("close() during a stream: results in flight are yielded, then PoolClosedError", async (t) => {
  for (const method of ["imap", "imapUnordered"] as const) {
    await t.step(method, async () => {
      await withPool({ size: 2 }, async (pool) => {
        const { state, source } = counting(100);
        const stream = pool[method](
          tasks.sleepMs,
          (function* () {
            for (const _ of source) yield 20;
          })(),
          { chunksize: 1, buffersize: 4 },
        );
        const taken = [];
        for (let i = 0; i < 3; i++) taken.push((await stream.next()).value);
        pool.close();
        const { values, error } = await drain(stream);
        assert.ok(error instanceof PoolClosedError, String(error));
        // The chunks already submitted (at most buffersize) still delivered their results.
        assert.ok(values.length >= 1 && values.length <= 4, `${values.length} after close`);
        assert.ok([...taken, ...values].every((ms) => ms === 20));
        assert.ok(state.produced < 100, "the stream kept pulling after close()");
        assert.equal(state.closed, true);
        await pool.join();
        assert.equal(pool.stats().alive, 0);
      });
    });
  }

  await t.step("terminate() ends a stream with PoolClosedError at once", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const { state, source } = counting();
      const stream = pool.imap(
        (x: number) => new Promise((r) => setTimeout(r, 10_000, x)),
        source,
        {
          chunksize: 1,
        },
      );
      const pending = timed(drain(stream));
      await delay(200);
      await pool.terminate();
      const { ms, value } = await pending;
      assert.ok(value?.error instanceof PoolClosedError, String(value?.error));
      assert.ok(ms < 3000);
      assert.equal(state.closed, true);
    });
  });
});
