// Pool: every method and option of issue 2 (points 4-6), its errors, its
// lifecycle and bad input. Every test that starts workers runs inside
// withPool(), which asserts afterwards that no worker is left alive.

import assert from "node:assert/strict";
import { mock } from "node:test";
import {
  AsyncResult,
  liveWorkerCount,
  Pool,
  PoolClosedError,
  QueueFullError,
  RemoteError,
  TaskTimeoutError,
  TimeoutError,
} from "../mod.ts";
import {
  counting,
  delay,
  range,
  rejectsAtCall,
  sharedCounter,
  tasks,
  timed,
  warmUp,
  withPool,
} from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Loose = Record<string, (...args: any[]) => any>;

/** The pool with its argument types switched off, to call it with bad input. */
function loose(pool: Pool): Loose {
  return pool as unknown as Loose;
}

/** Groups consecutive equal ids and returns the group sizes. */
function runLengths(ids: readonly string[]): number[] {
  const lengths: number[] = [];
  ids.forEach((id, i) => {
    if (i > 0 && ids[i - 1] === id) lengths[lengths.length - 1]++;
    else lengths.push(1);
  });
  return lengths;
}

async function* slowly<T>(items: Iterable<T>, ms = 1): AsyncGenerator<T> {
  for (const item of items) {
    await delay(ms);
    yield item;
  }
}

Deno.test("new Pool: size and option checks", async (t) => {
  await t.step("size defaults to navigator.hardwareConcurrency", async () => {
    await withPool({}, async (pool) => {
      assert.equal(pool.size, navigator.hardwareConcurrency);
      assert.equal(pool.stats().size, navigator.hardwareConcurrency);
      assert.equal(await pool.apply(tasks.square, [3]), 9);
    });
  });

  await t.step("size that is not a positive integer is a RangeError naming size", () => {
    for (const size of [0, -1, 1.5, NaN, Infinity, "2", null]) {
      assert.throws(() => new Pool({ size: size as number }), (e: unknown) => {
        assert.ok(e instanceof RangeError, `size ${String(size)}`);
        assert.match(e.message, /size/);
        return true;
      });
    }
    assert.equal(liveWorkerCount(), 0);
  });

  await t.step("other bad options throw at construction and start no worker", () => {
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      [null, TypeError, /options/],
      ["big", TypeError, /options/],
      [{ maxTasksPerWorker: 0 }, RangeError, /maxTasksPerWorker/],
      [{ maxTasksPerWorker: 2.5 }, RangeError, /maxTasksPerWorker/],
      [{ maxQueue: -1 }, RangeError, /maxQueue/],
      [{ taskTimeout: 0 }, RangeError, /taskTimeout/],
      [{ taskTimeout: "1s" }, RangeError, /taskTimeout/],
      [{ initializer: 42 }, TypeError, /task/],
      [{ initializer: tasks.setup, initArgs: "x" }, TypeError, /initArgs/],
      [{ initializer: tasks.setup, initArgs: [() => 1] }, TypeError, /initArgs\[0\]/],
      [{ backend: "gpu" }, RangeError, /Option backend must be "thread".*got the string "gpu"/],
      [{ backend: { kind: "fake" } }, RangeError, /backend object/],
    ];
    for (const [options, type, message] of cases) {
      assert.throws(() => new Pool(options as never), (e: unknown) => {
        assert.ok(e instanceof type, `${JSON.stringify(options)}: ${e}`);
        assert.match((e as Error).message, message);
        return true;
      });
    }
    assert.equal(liveWorkerCount(), 0);
  });
});

Deno.test("initializer and initArgs run in every worker", async (t) => {
  await t.step("a task module initializer, seen by both workers", async () => {
    await withPool({ size: 2, initializer: tasks.setup, initArgs: ["hello"] }, async (pool) => {
      const seen = await warmUp(pool); // one call on each worker
      assert.equal(new Set(seen.map(([worker]) => worker)).size, 2, JSON.stringify(seen));
      assert.deepEqual(seen.map(([, value]) => value), ["hello", "hello"]);
    });
  });

  await t.step("an inline initializer sets a global that tasks read", async () => {
    const options = {
      size: 2,
      initializer: (value: number) => {
        (globalThis as { configured?: number }).configured = value;
      },
      initArgs: [41],
    };
    await withPool(options, async (pool) => {
      // Both calls wait for each other, so each worker runs one.
      const read = (counter: Int32Array) => {
        Atomics.add(counter, 0, 1);
        Atomics.notify(counter, 0);
        for (let tries = 0; Atomics.load(counter, 0) < 2 && tries < 100; tries++) {
          Atomics.wait(counter, 0, 1, 50);
        }
        const scope = globalThis as { name?: string; configured?: number };
        return [scope.name, scope.configured] as const;
      };
      const counter = sharedCounter();
      const seen = await pool.map(read, [counter, counter], { chunksize: 1 });
      assert.equal(new Set(seen.map(([worker]) => worker)).size, 2, JSON.stringify(seen));
      assert.deepEqual(seen.map(([, value]) => value), [41, 41]);
    });
  });

  await t.step("replacement workers run it too (maxTasksPerWorker: 1)", async () => {
    const options = {
      size: 1,
      initializer: tasks.setup,
      initArgs: ["again"],
      maxTasksPerWorker: 1,
    };
    await withPool(options, async (pool) => {
      const values = await pool.map(tasks.readSetup, range(3), { chunksize: 1 });
      assert.deepEqual(values, ["again", "again", "again"]);
      assert.equal(pool.stats().replaced, 3);
    });
  });

  await t.step("close() + join() at once still lets a starting worker run it", async () => {
    // CPython's test_pool: the initializer runs once even when the pool is closed at once.
    const counter = sharedCounter();
    const initializer = (c: Int32Array) => void Atomics.add(c, 0, 1);
    for (let i = 0; i < 10; i++) {
      const pool = new Pool({ size: 1, initializer, initArgs: [counter] });
      pool.close();
      await pool.join();
      assert.equal(liveWorkerCount(), 0);
    }
    assert.equal(Atomics.load(counter, 0), 10);
  });

  await t.step("a failing initializer rejects queued work with a RemoteError", async () => {
    await withPool({ size: 1, initializer: tasks.badSetup }, async (pool) => {
      await assert.rejects(pool.apply(tasks.square, [2]), (e: unknown) => {
        assert.ok(e instanceof RemoteError);
        assert.match(e.message, /initializer/);
        assert.match(e.message, /setup refused/);
        return true;
      });
    });
  });
});

Deno.test("maxTasksPerWorker recycles workers and results stay correct", async () => {
  await withPool({ size: 1, maxTasksPerWorker: 2 }, async (pool) => {
    const names = await pool.map(tasks.workerName, range(6), { chunksize: 1 });
    assert.deepEqual(runLengths(names), [2, 2, 2], `names: ${names}`);
    assert.equal(new Set(names).size, 3);
    assert.equal(pool.stats().replaced, 3);
    // A chunk counts as one task: 4 chunks of 3 items, 2 chunks per worker.
    const perChunk = await pool.map(tasks.workerName, range(12), { chunksize: 3 });
    assert.deepEqual(runLengths(perChunk), [6, 6], `names: ${perChunk}`);
    assert.equal(pool.stats().replaced, 5);
    assert.deepEqual(
      await pool.map(tasks.square, range(40), { chunksize: 3 }),
      range(40).map((x) => x * x),
    );
    assert.equal(pool.stats().replaced, 5 + 7);
    assert.equal(pool.stats().alive, 1);
  });
});

Deno.test("maxQueue bounds the backlog with QueueFullError", async (t) => {
  await t.step("maxQueue: 1", async () => {
    await withPool({ size: 1, maxQueue: 1 }, async (pool) => {
      await pool.apply(tasks.square, [1]); // the worker is ready and idle
      const running = pool.apply(tasks.sleepMs, [300]);
      const queued = pool.apply(tasks.square, [4]);
      assert.equal(pool.stats().queued, 1);
      await rejectsAtCall(() => pool.apply(tasks.square, [5]), QueueFullError);
      await rejectsAtCall(() => pool.applyAsync(tasks.square, [5]), QueueFullError);
      assert.equal(pool.stats().queued, 1);
      assert.deepEqual(await Promise.all([running, queued]), [300, 16]);
      assert.equal(await pool.apply(tasks.square, [5]), 25); // room again
    });
  });

  await t.step("workers still starting count as room", async () => {
    await withPool({ size: 2, maxQueue: 0 }, async (pool) => {
      assert.equal(pool.stats().alive, 2);
      const accepted = [pool.apply(tasks.square, [2]), pool.apply(tasks.square, [3])];
      await rejectsAtCall(() => pool.apply(tasks.square, [4]), QueueFullError);
      assert.deepEqual(await Promise.all(accepted), [4, 9]);
    });
  });

  await t.step(
    "a starmap under way waits for room; a map's first chunk is refused like an apply",
    async () => {
      await withPool({ size: 1, maxQueue: 1 }, async (pool) => {
        await pool.apply(tasks.square, [1]); // started: now at most maxQueue chunks may wait
        let peak = 0;
        const sampler = setInterval(() => (peak = Math.max(peak, pool.stats().queued)), 1);
        try {
          const pairs = range(12).map((i): [number, number] => [5, i]);
          const mapped = pool.starmap(tasks.sleepEcho, pairs, { chunksize: 1 });
          await delay(20);
          // The map keeps the queue full: other submissions are refused meanwhile.
          await rejectsAtCall(() => pool.apply(tasks.square, [2]), QueueFullError);
          await assert.rejects(pool.map(tasks.square, [1, 2], { chunksize: 1 }), QueueFullError);
          assert.deepEqual(await mapped, range(12));
        } finally {
          clearInterval(sampler);
        }
        assert.equal(peak, 1);
        assert.equal(pool.stats().completed, 1 + 12);
      });
    },
  );

  await t.step("imap over a generator pulls only as room frees", async () => {
    await withPool({ size: 1, maxQueue: 0 }, async (pool) => {
      const { state, source } = counting(40);
      const seen: number[] = [];
      for await (const x of pool.imap(tasks.square, source, { chunksize: 2, buffersize: 8 })) {
        seen.push(x);
        assert.ok(state.produced <= seen.length + 2 * 8, `produced ${state.produced}`);
      }
      assert.deepEqual(seen, range(40).map((x) => x * x));
      assert.ok(state.closed);
    });
  });

  await t.step("terminate() or an abort ends a map that waits for room", async () => {
    await withPool({ size: 1, maxQueue: 0 }, async (pool) => {
      const controller = new AbortController();
      const items = range(6).map((i): [number, number] => [50, i]);
      const aborted = pool.starmap(tasks.sleepEcho, items, {
        chunksize: 1,
        signal: controller.signal,
      });
      await delay(20);
      controller.abort(new Error("stop"));
      await assert.rejects(aborted, /stop/);
      const terminated = pool.starmap(tasks.sleepEcho, items, { chunksize: 1 });
      await delay(80);
      await pool.terminate();
      await assert.rejects(terminated, PoolClosedError);
      assert.ok(pool.stats().completed < 6 + 6, `completed ${pool.stats().completed}`);
    });
  });
});

Deno.test("timeouts fail the task with TaskTimeoutError and replace the worker", async (t) => {
  await t.step("taskTimeout of the pool", async () => {
    await withPool({ size: 1, taskTimeout: 300 }, async (pool) => {
      const { ms, error } = await timed(pool.apply(tasks.sleepMs, [10_000]));
      assert.ok(error instanceof TaskTimeoutError, String(error));
      assert.match(error.message, /300 ms/);
      assert.ok(ms < 3000, `took ${ms} ms`);
      assert.equal(pool.stats().replaced, 1);
      assert.equal(await pool.apply(tasks.square, [7]), 49); // the new worker works
    });
  });

  await t.step("per-call timeout stops a busy loop", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const spin = () => {
        for (;;) { /* never returns */ }
      };
      const { ms, error } = await timed(pool.apply(spin, [], { timeout: 200 }));
      assert.ok(error instanceof TaskTimeoutError, String(error));
      assert.ok(ms < 3000, `took ${ms} ms`);
      assert.equal(await pool.apply(tasks.add, [2, 3]), 5);
    });
  });

  await t.step("per-call timeout overrides taskTimeout", async () => {
    await withPool({ size: 1, taskTimeout: 100 }, async (pool) => {
      assert.equal(await pool.apply(tasks.sleepMs, [400], { timeout: 5000 }), 400);
    });
  });

  await t.step("measured from when the task starts, not from submission", async () => {
    await withPool({ size: 1 }, async (pool) => {
      await pool.apply(tasks.square, [1]);
      const first = pool.apply(tasks.sleepMs, [1200]);
      // Queued for about 1200 ms, then runs for 100 ms: within its 800 ms.
      const second = pool.apply(tasks.sleepMs, [100], { timeout: 800 });
      assert.deepEqual(await Promise.all([first, second]), [1200, 100]);
      assert.equal(pool.stats().replaced, 0);
    });
  });

  await t.step("map: a chunk that times out rejects the map", async () => {
    await withPool({ size: 2 }, async (pool) => {
      const { ms, error } = await timed(
        pool.map(tasks.sleepMs, [10, 10_000, 10], { chunksize: 1, timeout: 300 }),
      );
      assert.ok(error instanceof TaskTimeoutError, String(error));
      assert.ok(ms < 3000, `took ${ms} ms`);
    });
  });
});

Deno.test("signal aborts queued and running tasks", async (t) => {
  await t.step("a queued task is removed and rejects with the reason", async () => {
    await withPool({ size: 1 }, async (pool) => {
      await pool.apply(tasks.square, [1]);
      const counter = sharedCounter();
      const running = pool.apply(tasks.sleepMs, [500]);
      const controller = new AbortController();
      const queued = pool.apply(tasks.counted, [counter, 0, 1], { signal: controller.signal });
      assert.equal(pool.stats().queued, 1);
      const reason = new Error("not needed any more");
      controller.abort(reason);
      await assert.rejects(queued, (e) => e === reason);
      assert.equal(pool.stats().queued, 0);
      assert.equal(await running, 500);
      await delay(50);
      assert.equal(counter[0], 0, "the aborted task ran");
      assert.equal(pool.stats().replaced, 0, "aborting a queued task must not cost a worker");
    });
  });

  await t.step("a running task: its worker is terminated and replaced", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const controller = new AbortController();
      const running = timed(pool.apply(tasks.sleepMs, [10_000], { signal: controller.signal }));
      await delay(200);
      controller.abort();
      const { ms, error } = await running;
      assert.ok(error instanceof DOMException && error.name === "AbortError", String(error));
      assert.ok(ms < 3000, `took ${ms} ms`);
      assert.equal(pool.stats().replaced, 1);
      assert.equal(await pool.apply(tasks.square, [6]), 36);
    });
  });

  await t.step("an already aborted signal rejects without sending anything", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const counter = sharedCounter();
      const reason = new Error("too late");
      const signal = AbortSignal.abort(reason);
      await assert.rejects(
        pool.apply(tasks.counted, [counter, 0, 1], { signal }),
        (e) => e === reason,
      );
      await assert.rejects(pool.map(tasks.square, [1, 2, 3], { signal }), (e) => e === reason);
      await delay(50);
      assert.equal(counter[0], 0);
      assert.equal(pool.stats().completed, 0);
    });
  });

  await t.step("map rejects with the reason when aborted midway", async () => {
    await withPool({ size: 2 }, async (pool) => {
      const controller = new AbortController();
      const mapped = timed(
        pool.map(tasks.sleepMs, [50, 50, 10_000, 10_000, 50], {
          chunksize: 1,
          signal: controller.signal,
        }),
      );
      await delay(300);
      controller.abort("stop");
      const { ms, error } = await mapped;
      assert.equal(error, "stop");
      assert.ok(ms < 3000, `took ${ms} ms`);
      assert.equal(await pool.apply(tasks.square, [2]), 4);
    });
  });
});

Deno.test("apply and applyAsync", async (t) => {
  await t.step("apply resolves with the result; inline tasks work too", async () => {
    await withPool({ size: 1 }, async (pool) => {
      assert.equal(await pool.apply(tasks.add, [2, 3]), 5);
      assert.equal(await pool.apply((a: string, b: string) => a + b, ["x", "y"]), "xy");
      assert.equal(await pool.apply(async (x: number) => await Promise.resolve(x * 2), [4]), 8);
      assert.deepEqual(await pool.apply(() => ({ a: [1, { b: 2 }] }), []), { a: [1, { b: 2 }] });
    });
  });

  await t.step("exactly one callback runs, once", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const ok = { callback: mock.fn(), errorCallback: mock.fn() };
      const good = pool.applyAsync(tasks.square, [5], ok);
      assert.ok(good instanceof AsyncResult);
      assert.equal(await good, 25);
      assert.equal(ok.callback.mock.callCount(), 1);
      assert.deepEqual(ok.callback.mock.calls[0].arguments, [25]);
      assert.equal(ok.errorCallback.mock.callCount(), 0);

      const bad = { callback: mock.fn(), errorCallback: mock.fn() };
      const failing = pool.applyAsync(tasks.fail, ["no"], bad);
      await assert.rejects(failing.get(), RemoteError);
      assert.equal(bad.callback.mock.callCount(), 0);
      assert.equal(bad.errorCallback.mock.callCount(), 1);
      const error = bad.errorCallback.mock.calls[0].arguments[0];
      assert.ok(error instanceof RemoteError);
      assert.equal(error, failing.error);
    });
  });

  await t.step("a callback that throws is an error event; the pool keeps working", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const consoleError = mock.method(console, "error", () => {});
      try {
        const reported: unknown[] = [];
        const listener = (event: Event) => reported.push((event as ErrorEvent).error);
        pool.addEventListener("error", listener);
        const thrown = new Error("callback bug");
        const r = pool.applyAsync(tasks.square, [3], {
          callback: () => {
            throw thrown;
          },
        });
        assert.equal(await r, 9, "the result is still delivered");
        const e = pool.applyAsync(tasks.fail, ["x"], {
          errorCallback: () => {
            throw new Error("errorCallback bug");
          },
        });
        await assert.rejects(e.get(), RemoteError);
        assert.equal(reported.length, 2);
        assert.equal(reported[0], thrown);
        assert.match((reported[1] as Error).message, /errorCallback bug/);
        assert.equal(consoleError.mock.callCount(), 0);
        pool.removeEventListener("error", listener);
        assert.equal(await pool.apply(tasks.square, [4]), 16);
        assert.deepEqual(await pool.map(tasks.square, [1, 2]), [1, 4]);
      } finally {
        consoleError.mock.restore();
      }
    });
  });

  await t.step("with no error listener, a throwing callback goes to console.error", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const consoleError = mock.method(console, "error", () => {});
      try {
        const thrown = new Error("nobody listens");
        await pool.applyAsync(tasks.square, [3], {
          callback: () => {
            throw thrown;
          },
        });
        await pool.mapAsync(tasks.square, [1], {
          callback: () => {
            throw thrown;
          },
        });
        assert.equal(consoleError.mock.callCount(), 2);
        for (const call of consoleError.mock.calls) {
          assert.ok((call.arguments as unknown[]).includes(thrown));
        }
        assert.equal(await pool.apply(tasks.square, [2]), 4);
      } finally {
        consoleError.mock.restore();
      }
    });
  });

  await t.step("AsyncResult from the pool: get(timeout), wait, ready, successful", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const r = pool.applyAsync(tasks.sleepMs, [400]);
      assert.equal(r.ready(), false);
      assert.throws(() => r.successful(), /not ready/);
      await assert.rejects(r.get(20), TimeoutError);
      assert.equal(await r.wait(20), false);
      assert.equal(await r.wait(), true);
      assert.equal(r.ready(), true);
      assert.equal(r.successful(), true);
      assert.equal(await r.get(0), 400);
      assert.equal(r.value, 400);

      const f = pool.applyAsync(tasks.fail, ["nope"]);
      assert.equal(await f.wait(5000), true);
      assert.equal(f.successful(), false);
      await assert.rejects(f.get(), RemoteError);
    });
  });
});

Deno.test("map", async (t) => {
  await t.step("keeps input order whatever the completion order", async () => {
    await withPool({ size: 2 }, async (pool) => {
      const sleeps = [150, 10, 80, 0, 40];
      assert.deepEqual(await pool.map(tasks.sleepMs, sleeps, { chunksize: 1 }), sleeps);
      assert.deepEqual(
        await pool.map(tasks.square, range(1000)),
        range(1000).map((x) => x * x),
      );
      assert.deepEqual(await pool.map(tasks.square, []), []);
    });
  });

  await t.step("default chunksize is ceil(n / (4 * size))", async () => {
    await withPool({ size: 2 }, async (pool) => {
      // chunkId tells chunks apart by the microtask they run in; chunks with a timeout
      // are never coalesced into one message, so each runs in its own.
      const timeout = 10_000;
      // 20 items, 2 workers: chunks of ceil(20 / 8) = 3.
      const ids = await pool.map(tasks.chunkId, range(20), { timeout });
      assert.deepEqual(runLengths(ids), [3, 3, 3, 3, 3, 3, 2], ids.join(" "));
      // A Set knows its size too: 10 items, chunks of 2.
      const fromSet = await pool.map(tasks.chunkId, new Set(range(10)), { timeout });
      assert.deepEqual(runLengths(fromSet), [2, 2, 2, 2, 2]);
      // An explicit chunksize wins.
      const explicit = await pool.map(tasks.chunkId, range(10), { chunksize: 4, timeout });
      assert.deepEqual(runLengths(explicit), [
        4,
        4,
        2,
      ]);
    });
  });

  await t.step(
    "numbers travel packed; results that stop being numbers or throw midway",
    async () => {
      await withPool({ size: 2 }, async (pool) => {
        const xs = range(1000);
        assert.deepEqual(await pool.map((x: number) => x * 2, xs), xs.map((x) => x * 2));
        const floats = Float64Array.from(xs);
        assert.deepEqual(await pool.map((x: number) => x + 0.5, floats), xs.map((x) => x + 0.5));
        assert.equal(floats[999], 999, "the caller's typed array is not moved");
        // A number result, then strings, inside one packed chunk.
        const mixed = await pool.map((x: number) => (x < 500 ? x : `s${x}`), xs, {
          chunksize: 1000,
        });
        assert.deepEqual(mixed, xs.map((x) => (x < 500 ? x : `s${x}`)));
        const out: unknown[] = [];
        const failing = (x: number) => {
          if (x === 700) throw new RangeError("at 700");
          return x;
        };
        try {
          for await (const y of pool.imap(failing, Float64Array.from(xs), { chunksize: 1000 })) {
            out.push(y);
          }
          assert.fail("the stream did not fail");
        } catch (error) {
          assert.ok(error instanceof RemoteError, String(error));
        }
        assert.deepEqual(out, range(700), "the results before the failed item come first");
      });
    },
  );

  await t.step("accepts any Iterable or AsyncIterable", async () => {
    await withPool({ size: 2 }, async (pool) => {
      const expected = [0, 1, 4, 9, 16];
      function* generate() {
        yield* range(5);
      }
      const iterable = { [Symbol.iterator]: () => range(5)[Symbol.iterator]() };
      const asyncIterable = {
        [Symbol.asyncIterator]: () => slowly(range(5))[Symbol.asyncIterator](),
      };
      assert.deepEqual(await pool.map(tasks.square, generate()), expected);
      assert.deepEqual(await pool.map(tasks.square, iterable), expected);
      assert.deepEqual(await pool.map(tasks.square, new Set(range(5))), expected);
      assert.deepEqual(await pool.map(tasks.square, slowly(range(5))), expected);
      assert.deepEqual(await pool.map(tasks.square, asyncIterable), expected);
      assert.deepEqual(await pool.map(tasks.square, new Float64Array(range(5))), expected);
      assert.deepEqual(await pool.map((s: string) => s.toUpperCase(), "abc"), ["A", "B", "C"]);
      // A long generator with the adaptive chunksize.
      function* many() {
        for (let i = 0; i < 20_000; i++) yield i;
      }
      const big = await pool.map((x: number) => x + 1, many());
      assert.equal(big.length, 20_000);
      assert.ok(big.every((y, i) => y === i + 1));
    });
  });

  await t.step("mapAsync: the callback receives the whole list once", async () => {
    await withPool({ size: 2 }, async (pool) => {
      const callback = mock.fn();
      const errorCallback = mock.fn();
      const r = pool.mapAsync(tasks.square, range(10), { chunksize: 2, callback, errorCallback });
      assert.ok(r instanceof AsyncResult);
      assert.deepEqual(await r.get(5000), range(10).map((x) => x * x));
      assert.equal(callback.mock.callCount(), 1);
      assert.deepEqual(callback.mock.calls[0].arguments, [range(10).map((x) => x * x)]);
      assert.equal(errorCallback.mock.callCount(), 0);

      const failing = pool.mapAsync(tasks.fail, ["a", "b"], { callback, errorCallback });
      assert.equal(await failing.wait(), true);
      assert.equal(failing.successful(), false);
      assert.equal(callback.mock.callCount(), 1);
      assert.equal(errorCallback.mock.callCount(), 1);
      assert.ok(errorCallback.mock.calls[0].arguments[0] instanceof RemoteError);
    });
  });

  await t.step("a map called before close() still completes after it", async () => {
    await withPool({ size: 2 }, async (pool) => {
      const mapped = pool.map(tasks.square, slowly(range(20), 10));
      await delay(30);
      pool.close();
      assert.deepEqual(await mapped, range(20).map((x) => x * x));
      await pool.join();
      assert.equal(liveWorkerCount(), 0);
    });
  });
});

Deno.test("starmap and starmapAsync apply task(...args) per element", async () => {
  await withPool({ size: 2 }, async (pool) => {
    assert.deepEqual(await pool.starmap(tasks.add, [[1, 2], [3, 4]]), [3, 7]);
    function* pairs(): Generator<[number, number]> {
      for (let i = 0; i < 50; i++) yield [i, 2 * i];
    }
    assert.deepEqual(await pool.starmap(tasks.add, pairs()), range(50).map((i) => 3 * i));
    assert.deepEqual(
      await pool.starmap(tasks.add, slowly(pairs()), { chunksize: 7 }),
      range(50).map((i) => 3 * i),
    );
    assert.deepEqual(await pool.starmap(() => 1, [[], []]), [1, 1]);
    const callback = mock.fn();
    const r = pool.starmapAsync((a: number, b: string) => b.repeat(a), [[2, "ab"], [1, "c"]], {
      callback,
    });
    assert.deepEqual(await r, ["abab", "c"]);
    assert.equal(callback.mock.callCount(), 1);
    assert.deepEqual(callback.mock.calls[0].arguments, [["abab", "c"]]);
  });
});

Deno.test("map fails fast and drops chunks not yet started", async () => {
  await withPool({ size: 2 }, async (pool) => {
    await warmUp(pool);
    const counter = sharedCounter();
    const items: [Int32Array, number, number | "fail"][] = [
      [counter, 10_000, 0], // runs on one worker for 10 s
      [counter, 50, "fail"], // fails on the other after 50 ms
      ...range(20).map((i): [Int32Array, number, number] => [counter, 0, i]),
    ];
    const { ms, error } = await timed(pool.starmap(tasks.counted, items, { chunksize: 1 }));
    assert.ok(error instanceof RemoteError, String(error));
    assert.equal(error.cause.name, "RangeError");
    assert.ok(ms < 2000, `rejected after ${ms} ms while a chunk sleeps 10 s`);
    await delay(300);
    // Only the two first chunks ever started: the 20 after them were dropped.
    assert.equal(counter[0], 2, `${counter[0]} items started`);
    assert.equal(pool.stats().queued, 0);
  });
});

Deno.test("RemoteError keeps the worker's name, message and stack in cause", async () => {
  await withPool({ size: 1 }, async (pool) => {
    const error = await pool.apply(tasks.fail, ["boom"]).catch((e) => e);
    assert.ok(error instanceof RemoteError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, "RemoteError");
    assert.match(error.message, /RangeError: boom/);
    assert.ok(error.cause instanceof Error);
    assert.equal(error.cause.name, "RangeError");
    assert.equal(error.cause.message, "boom");
    assert.match(error.cause.stack ?? "", /fixtures\/tasks\.ts/);
    assert.match(error.cause.stack ?? "", /fail/);

    const rejected = await pool.apply(tasks.failLater, [10, "late"]).catch((e) => e);
    assert.ok(rejected instanceof RemoteError);
    assert.equal(rejected.cause.name, "TypeError");
    assert.equal(rejected.cause.message, "late");

    const nested = await pool.apply(() => {
      throw new Error("outer", { cause: new SyntaxError("inner") });
    }, []).catch((e) => e);
    assert.equal(nested.cause.message, "outer");
    assert.ok(nested.cause.cause instanceof Error);
    assert.equal((nested.cause.cause as Error).name, "SyntaxError");

    const notAnError = await pool.apply(() => {
      throw { code: 42 };
    }, []).catch((e) => e);
    assert.ok(notAnError instanceof RemoteError);
    assert.match(notAnError.cause.message, /42/);
  });
});

Deno.test("lifecycle: close, join, terminate, asyncDispose", async (t) => {
  await t.step("submitting after close() rejects with PoolClosedError (imap throws)", async () => {
    await withPool({ size: 1 }, async (pool) => {
      pool.close();
      const calls: [string, () => unknown][] = [
        ["apply", () => pool.apply(tasks.square, [1])],
        ["applyAsync", () => pool.applyAsync(tasks.square, [1])],
        ["map", () => pool.map(tasks.square, [1])],
        ["mapAsync", () => pool.mapAsync(tasks.square, [1])],
        ["starmap", () => pool.starmap(tasks.add, [[1, 2]])],
        ["starmapAsync", () => pool.starmapAsync(tasks.add, [[1, 2]])],
        ["imap", () => pool.imap(tasks.square, [1])],
        ["imapUnordered", () => pool.imapUnordered(tasks.square, [1])],
      ];
      for (const [name, call] of calls) {
        if (name.startsWith("imap")) assert.throws(call, PoolClosedError, name);
        else await rejectsAtCall(call, PoolClosedError, name);
      }
      await pool.join();
      assert.equal(liveWorkerCount(), 0);
      await rejectsAtCall(() => pool.apply(tasks.square, [1]), PoolClosedError);
    });
  });

  await t.step("join() before close() or terminate() rejects", async () => {
    await withPool({ size: 1 }, async (pool) => {
      await assert.rejects(pool.join(), /close\(\) or terminate\(\)/);
      assert.equal(await pool.apply(tasks.square, [3]), 9, "the pool still works");
    });
  });

  await t.step("close() + join(): queued work completes, then the workers exit", async () => {
    await withPool({ size: 1 }, async (pool) => {
      const results = [100, 50, 10].map((ms) => pool.applyAsync(tasks.sleepMs, [ms]));
      const mapped = pool.map(tasks.square, [1, 2, 3]);
      pool.close();
      pool.close(); // idempotent
      assert.equal(pool.stats().alive, 1);
      await pool.join();
      assert.equal(liveWorkerCount(), 0);
      assert.deepEqual(results.map((r) => r.value), [100, 50, 10]);
      assert.deepEqual(await mapped, [1, 4, 9]);
      await pool.join(); // joining again returns at once
    });
  });

  await t.step("terminate() rejects running and queued work", async () => {
    await withPool({ size: 1 }, async (pool) => {
      await pool.apply(tasks.square, [1]);
      const running = pool.apply(tasks.sleepMs, [10_000]);
      const queued = pool.apply(tasks.square, [2]);
      const mapped = pool.map(tasks.square, [1, 2, 3]);
      const { ms } = await timed(pool.terminate());
      assert.ok(ms < 1000);
      assert.equal(liveWorkerCount(), 0);
      await assert.rejects(running, PoolClosedError);
      await assert.rejects(queued, PoolClosedError);
      await assert.rejects(mapped, PoolClosedError);
      await pool.join(); // resolves after terminate
      await pool.terminate(); // idempotent
      await rejectsAtCall(() => pool.apply(tasks.square, [1]), PoolClosedError);
    });
  });

  await t.step("await using closes gracefully: queued work completes", async () => {
    assert.equal(liveWorkerCount(), 0);
    const results: AsyncResult<number>[] = [];
    {
      await using pool = new Pool({ size: 1 });
      for (const ms of [80, 40, 20]) results.push(pool.applyAsync(tasks.sleepMs, [ms]));
    }
    assert.deepEqual(results.map((r) => r.ready() && r.value), [80, 40, 20]);
    assert.equal(liveWorkerCount(), 0);
  });
});

Deno.test("stats() reports size, alive, busy, queued, completed, failed, timings", async () => {
  await withPool({ size: 2 }, async (pool) => {
    const fresh = pool.stats();
    assert.equal(fresh.size, 2);
    assert.equal(fresh.alive, 2);
    assert.deepEqual(
      [fresh.busy, fresh.queued, fresh.completed, fresh.failed, fresh.replaced],
      [0, 0, 0, 0, 0],
    );
    await warmUp(pool);
    const sleeping = pool.map(tasks.sleepMs, [300, 300, 300, 300], { chunksize: 1 });
    await delay(100);
    const busy = pool.stats();
    assert.equal(busy.busy, 2);
    assert.equal(busy.queued, 2);
    await sleeping;
    await assert.rejects(pool.map(tasks.fail, ["x"]), RemoteError);
    const after = pool.stats();
    assert.equal(after.busy, 0);
    assert.equal(after.queued, 0);
    assert.equal(after.completed, 6, "completed counts items (2 to warm up)");
    assert.equal(after.failed, 1, "failed counts chunks");
    assert.equal(after.alive, 2);
    assert.ok(after.runTime.p50 > 0 && after.runTime.max >= 250, JSON.stringify(after.runTime));
    assert.ok(after.waitTime.max >= 200, JSON.stringify(after.waitTime));
    for (const p of [after.runTime, after.waitTime]) {
      assert.ok(p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.max);
    }
    assert.equal(after.wasmInstantiations, 0);
  });
});

Deno.test("typed-array results are transferred intact", async () => {
  await withPool({ size: 1 }, async (pool) => {
    const floats = await pool.apply(tasks.float64Range, [1000]);
    assert.ok(floats instanceof Float64Array);
    assert.equal(floats.length, 1000);
    assert.ok(floats.every((v, i) => v === i));
    // The worker kept a reference: its buffer was moved away, not copied.
    assert.equal(await pool.apply(tasks.keptByteLength, []), 0);

    const bytes = await pool.apply(tasks.bytes, [64, 7]);
    assert.ok(bytes instanceof Uint8Array);
    assert.equal(bytes.length, 64);
    assert.ok(bytes.every((v) => v === 7));

    const many = await pool.map(tasks.float64Range, [3, 2]);
    assert.deepEqual(many.map((a) => [...a]), [[0, 1, 2], [0, 1]]);
  });
});

Deno.test("bad input rejects (imap: throws at the call), names the argument, sends nothing", async () => {
  await withPool({ size: 1 }, async (pool) => {
    await pool.apply(tasks.square, [1]);
    const before = pool.stats();
    const counter = sharedCounter();
    const p = loose(pool);
    const fn = () => 1;
    const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
      ["task not a function", () => p.apply(42, []), TypeError, /Argument task/],
      ["task null", () => p.map(null, [1]), TypeError, /Argument task/],
      ["args not an array", () => p.apply(tasks.counted, 3), TypeError, /Argument args/],
      [
        "a function argument",
        () => p.apply(tasks.counted, [counter, 0, fn]),
        TypeError,
        /args\[2\]/,
      ],
      [
        "a symbol argument",
        () => p.apply(tasks.counted, [counter, Symbol("s"), 1]),
        TypeError,
        /args\[1\]/,
      ],
      [
        "an object holding a function",
        () => p.apply(tasks.counted, [counter, 0, { f() {} }]),
        TypeError,
        /args\[2\]/,
      ],
      ["options null", () => p.apply(tasks.counted, [counter, 0, 1], null), TypeError, /options/],
      [
        "negative timeout",
        () => p.apply(tasks.counted, [counter, 0, 1], { timeout: -1 }),
        RangeError,
        /timeout/,
      ],
      [
        "bad signal",
        () => p.apply(tasks.counted, [counter, 0, 1], { signal: "x" }),
        TypeError,
        /signal/,
      ],
      [
        "applyAsync callback not a function",
        () => p.applyAsync(tasks.counted, [counter, 0, 1], { callback: 5 }),
        TypeError,
        /callback/,
      ],
      [
        "mapAsync errorCallback not a function",
        () => p.mapAsync(tasks.counted, [1], { errorCallback: "x" }),
        TypeError,
        /errorCallback/,
      ],
      [
        "starmapAsync callback not a function",
        () => p.starmapAsync(tasks.counted, [[counter, 0, 1]], { callback: {} }),
        TypeError,
        /callback/,
      ],
      ["iterable not iterable", () => p.map(tasks.square, 5), TypeError, /Argument iterable/],
      ["iterable undefined", () => p.starmap(tasks.add, undefined), TypeError, /Argument iterable/],
      ["chunksize 0", () => p.map(tasks.square, [1], { chunksize: 0 }), RangeError, /chunksize/],
      ["chunksize -2", () => p.map(tasks.square, [1], { chunksize: -2 }), RangeError, /chunksize/],
      [
        "chunksize 1.5",
        () => p.starmap(tasks.add, [[1, 2]], { chunksize: 1.5 }),
        RangeError,
        /chunksize/,
      ],
      [
        "chunksize '2'",
        () => p.mapAsync(tasks.square, [1], { chunksize: "2" }),
        RangeError,
        /chunksize/,
      ],
      [
        "a function item of a map",
        () => p.starmap(tasks.counted, [[counter, 0, 1], [counter, 0, 2], [counter, 0, fn]]),
        TypeError,
        /iterable\[2\]\[2\]/,
      ],
      [
        "a symbol item of a map",
        () => p.map(tasks.square, [1, 2, 3, Symbol("s")]),
        TypeError,
        /iterable\[3\]/,
      ],
      [
        "a starmap item not a tuple",
        () => p.starmap(tasks.counted, [[counter, 0, 1], 3]),
        TypeError,
        /iterable\[1\]/,
      ],
      ["imap task", () => p.imap("square", [1]), TypeError, /Argument task/],
      ["imap iterable", () => p.imapUnordered(tasks.square, 3), TypeError, /Argument iterable/],
      [
        "imap chunksize 0",
        () => p.imap(tasks.square, [1], { chunksize: 0 }),
        RangeError,
        /chunksize/,
      ],
      [
        "imap buffersize 0",
        () => p.imap(tasks.square, [1], { buffersize: 0 }),
        RangeError,
        /buffersize/,
      ],
    ];
    for (const [what, call, type, message] of cases) {
      const expected = (e: unknown) => {
        assert.ok(e instanceof type, `${what}: ${e}`);
        assert.match((e as Error).message, message, what);
        return true;
      };
      if (what.startsWith("imap")) assert.throws(call, expected, what);
      else await rejectsAtCall(call, expected, what);
    }
    await delay(100);
    assert.equal(counter[0], 0, "a task ran");
    const after = pool.stats();
    assert.equal(after.completed, before.completed);
    assert.equal(after.failed, before.failed);
    assert.equal(after.queued, 0);
    assert.equal(after.busy, 0);
    assert.equal(await pool.apply(tasks.square, [3]), 9);
  });
});

Deno.test("a result that cannot be cloned fails that task with a TypeError", async () => {
  await withPool({ size: 1 }, async (pool) => {
    const error = await pool.apply(() => () => 1, []).catch((e) => e);
    assert.ok(error instanceof RemoteError, String(error));
    assert.equal(error.cause.name, "TypeError");
    assert.equal(await pool.apply(tasks.square, [2]), 4);
  });
});
