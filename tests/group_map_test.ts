import assert from "node:assert/strict";
import { Group } from "../src/group.ts";
import { sleep } from "../src/sleep.ts";
import { counting } from "./_helpers.ts";

/** Tracks how many calls of a function run at once. */
function concurrency() {
  const state = { active: 0, peak: 0, calls: 0 };
  return {
    state,
    async run<T>(work: () => Promise<T>): Promise<T> {
      state.calls++;
      state.peak = Math.max(state.peak, ++state.active);
      try {
        return await work();
      } finally {
        state.active--;
      }
    },
  };
}

/** The async twin of `counting` (tests/_helpers.ts). */
function countingAsyncSource(total = Infinity) {
  const stats = { produced: 0, closed: false };
  async function* items() {
    try {
      for (let i = 0; i < total; i++) {
        await sleep(0);
        stats.produced++;
        yield i;
      }
    } finally {
      stats.closed = true;
    }
  }
  return { stats, items: items() };
}

Deno.test("Group.map keeps input order and bounds concurrency", async (t) => {
  await t.step("results in input order despite reversed delays", async () => {
    await using group = new Group({ limit: 3 });
    const tracker = concurrency();
    const items = [...Array(12).keys()];
    const results = await group.map(
      (x: number, signal) => tracker.run(() => sleep(12 - x, { signal }).then(() => x * 10)),
      items,
    );
    assert.deepEqual(results, items.map((x) => x * 10));
    assert.equal(tracker.state.peak, 3);
    assert.equal(group.size, 0);
  });

  await t.step("options.limit lowers the concurrency below the group's", async () => {
    await using group = new Group({ limit: 10 });
    const tracker = concurrency();
    await group.map(
      (x: number) => tracker.run(() => sleep(1).then(() => x)),
      [...Array(20).keys()],
      {
        limit: 2,
      },
    );
    assert.equal(tracker.state.peak, 2);
  });

  await t.step("a group without a limit runs 100 items at once by default", async () => {
    await using group = new Group();
    const tracker = concurrency();
    await group.map((x: number) => tracker.run(() => sleep(1).then(() => x)), [
      ...Array(250).keys(),
    ]);
    assert.equal(tracker.state.peak, 100);
    assert.equal(tracker.state.calls, 250);
  });

  await t.step("an async iterable source, synchronous functions, empty sources", async () => {
    await using group = new Group({ limit: 2 });
    const { items } = countingAsyncSource(5);
    assert.deepEqual(await group.map((x: number) => x + 1, items), [1, 2, 3, 4, 5]);
    assert.deepEqual(await group.map((x: number) => x, []), []);
    assert.deepEqual(await group.map((s: string) => s.toUpperCase(), "abc"), ["A", "B", "C"]);
  });

  await t.step("join() waits for a map() in progress", async () => {
    await using group = new Group({ limit: 1 });
    let processed = 0;
    const mapping = group.map((x: number) => sleep(1).then(() => (processed++, x)), [1, 2, 3, 4]);
    assert.equal(await group.join(), true);
    assert.equal(processed, 4); // join did not return between two items
    assert.deepEqual(await mapping, [1, 2, 3, 4]);
  });
});

Deno.test("Group.imap yields in input order, imapUnordered in completion order", async (t) => {
  await t.step("imap", async () => {
    await using group = new Group({ limit: 4 });
    const seen: number[] = [];
    for await (
      const x of group.imap((x: number) => sleep((4 - x) * 3).then(() => x), [0, 1, 2, 3])
    ) {
      seen.push(x);
    }
    assert.deepEqual(seen, [0, 1, 2, 3]);
  });

  await t.step("imapUnordered", async () => {
    await using group = new Group({ limit: 4 });
    const seen: number[] = [];
    const delays = [40, 1, 20];
    for await (const ms of group.imapUnordered((ms: number) => sleep(ms).then(() => ms), delays)) {
      seen.push(ms);
    }
    assert.deepEqual(seen, [1, 20, 40]);
  });

  await t.step("imapUnordered gives every result exactly once", async () => {
    await using group = new Group({ limit: 7 });
    const seen: number[] = [];
    const results = group.imapUnordered((x: number) => sleep(x % 5).then(() => x), [
      ...Array(200).keys(),
    ]);
    for await (const x of results) seen.push(x);
    assert.deepEqual(seen.sort((a, b) => a - b), [...Array(200).keys()]);
  });

  await t.step("fn receives the item and an AbortSignal", async () => {
    await using group = new Group();
    const signals: AbortSignal[] = [];
    const out = await group.map((x: string, signal) => {
      signals.push(signal);
      return x + "!";
    }, ["a", "b"]);
    assert.deepEqual(out, ["a!", "b!"]);
    assert.ok(signals.every((s) => s instanceof AbortSignal && !s.aborted));
    assert.notEqual(signals[0], signals[1]);
  });

  await t.step("the output of imap is an AsyncIterable that feeds another map", async () => {
    await using group = new Group({ limit: 3 });
    const doubled = group.imap((x: number) => sleep(1).then(() => x * 2), [1, 2, 3, 4]);
    const plusOne = group.imap((x: number) => x + 1, doubled);
    const out: number[] = [];
    for await (const x of plusOne) out.push(x);
    assert.deepEqual(out, [3, 5, 7, 9]);
  });
});

Deno.test("Group maps apply backpressure: a paused consumer pauses the source", async (t) => {
  for (const method of ["imap", "imapUnordered"] as const) {
    await t.step(`${method} with a sync source`, async () => {
      await using group = new Group({ limit: 4 });
      const { state: stats, source: items } = counting();
      let consumed = 0;
      let peakRunning = 0;
      for await (
        const _ of group[method]((x: number) => sleep(1).then(() => x), items, { buffersize: 6 })
      ) {
        consumed++;
        peakRunning = Math.max(peakRunning, group.size);
        assert.ok(
          stats.produced - consumed <= 6,
          `${stats.produced} produced, ${consumed} consumed`,
        );
        if (consumed === 5) {
          await sleep(30); // paused: the map must not race ahead
          assert.ok(stats.produced <= consumed + 6, `${stats.produced} produced while paused`);
          assert.ok(
            stats.produced >= consumed + 1,
            "the buffer is filled while the consumer works",
          );
        }
        if (consumed === 40) break;
      }
      assert.ok(peakRunning <= 4);
      assert.equal(stats.closed, true);
      assert.ok(stats.produced <= 46);
    });
  }

  await t.step("imap with an async source and the default buffersize (2 * limit)", async () => {
    await using group = new Group({ limit: 3 });
    const { stats, items } = countingAsyncSource();
    let consumed = 0;
    for await (const _ of group.imap((x: number) => x, items)) {
      consumed++;
      await sleep(consumed === 3 ? 30 : 0);
      assert.ok(stats.produced <= consumed + 6, `${stats.produced} produced, ${consumed} consumed`);
      if (consumed === 10) break;
    }
    assert.equal(stats.closed, true);
  });

  await t.step("a slow first item does not let imap run away (head-of-line)", async () => {
    await using group = new Group({ limit: 2 });
    const { state: stats, source: items } = counting(100);
    const first = Promise.withResolvers<number>();
    const iterator = group.imap((x: number) => (x === 0 ? first.promise : x), items, {
      buffersize: 5,
    });
    const next = iterator.next();
    await sleep(20);
    assert.equal(stats.produced, 5);
    first.resolve(0);
    assert.deepEqual(await next, { value: 0, done: false });
    await iterator.return!();
    assert.equal(stats.closed, true);
  });
});

Deno.test("Group maps stop cleanly", async (t) => {
  await t.step("break closes the source and aborts, then awaits, running items", async () => {
    await using group = new Group({ limit: 5 });
    const { state: stats, source: items } = counting();
    const signals: AbortSignal[] = [];
    let finished = 0;
    for await (
      const x of group.imapUnordered(async (x: number, signal) => {
        signals.push(signal);
        await sleep(x === 0 ? 0 : 10_000, { signal });
        finished++;
        return x;
      }, items)
    ) {
      assert.equal(x, 0);
      break;
    }
    assert.equal(stats.closed, true);
    assert.equal(group.size, 0);
    assert.equal(finished, 1);
    assert.ok(signals.length > 1);
    assert.ok(signals.slice(1).every((s) => s.aborted));
    assert.equal((signals[1].reason as DOMException).name, "AbortError");
    assert.equal(await group.join(), true); // stopping a map is not a group failure
  });

  await t.step("return() on an async source still pulling closes it", async () => {
    await using group = new Group({ limit: 2 });
    const { stats, items } = countingAsyncSource();
    const iterator = group.imap((x: number) => x, items);
    assert.deepEqual(await iterator.next(), { value: 0, done: false });
    await iterator.return!();
    assert.equal(stats.closed, true);
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });

  await t.step("a failing item rejects the map, aborts the others, closes the source", async () => {
    await using group = new Group({ limit: 3 });
    const { state: stats, source: items } = counting();
    const boom = new Error("item 4 failed");
    const signals: AbortSignal[] = [];
    let calls = 0;
    const failing = group.map(async (x: number, signal) => {
      calls++;
      signals.push(signal);
      if (x === 4) throw boom;
      await sleep(x < 4 ? 1 : 10_000, { signal });
      return x;
    }, items);
    await assert.rejects(failing, (e) => e === boom);
    assert.equal(stats.closed, true);
    assert.ok(calls < 20, `${calls} calls`);
    assert.ok(signals.slice(5).every((s) => s.aborted && s.reason === boom));
    assert.equal(group.size, 0);
    assert.equal(await group.join(), true); // the map's caller owns the error
  });

  await t.step("imap throws the failure at the consumer", async () => {
    await using group = new Group({ limit: 2 });
    const seen: number[] = [];
    const run = async () => {
      for await (
        const x of group.imap((x: number) => (x === 2 ? Promise.reject(new Error("two")) : x), [
          0,
          1,
          2,
          3,
        ])
      ) {
        seen.push(x);
      }
    };
    await assert.rejects(run(), /two/);
    assert.deepEqual(seen, [0, 1], "the results before the failed item, and nothing after it");
  });

  await t.step("a throwing source rejects the map and aborts running items", async () => {
    await using group = new Group({ limit: 3 });
    const broken = new Error("source broke");
    const signals: AbortSignal[] = [];
    async function* source() {
      yield 1;
      yield 2;
      await sleep(1);
      throw broken;
    }
    const mapping = group.map((x: number, signal) => {
      signals.push(signal);
      return sleep(10_000, { signal }).then(() => x);
    }, source());
    await assert.rejects(mapping, (e) => e === broken);
    assert.equal(signals.length, 2);
    assert.ok(signals.every((s) => s.aborted));
  });

  await t.step("options.signal aborts the map with its reason", async () => {
    await using group = new Group({ limit: 2 });
    const controller = new AbortController();
    const { state: stats, source: items } = counting();
    const mapping = group.map(
      (x: number, signal) => sleep(10_000, { signal }).then(() => x),
      items,
      {
        signal: controller.signal,
      },
    );
    await sleep(1);
    const reason = new Error("stop the map");
    controller.abort(reason);
    await assert.rejects(mapping, (e) => e === reason);
    assert.equal(stats.closed, true);
    assert.equal(group.size, 0);
  });

  await t.step("an already aborted options.signal rejects before any item runs", async () => {
    await using group = new Group();
    let calls = 0;
    const mapping = group.map(() => calls++, [1, 2], {
      signal: AbortSignal.abort(new Error("early")),
    });
    await assert.rejects(mapping, /early/);
    assert.equal(calls, 0);
  });

  await t.step("a failing spawned job stops a map of the same group", async () => {
    const group = new Group({ limit: 4 });
    const boom = new Error("sibling job failed");
    const mapping = group.map((x: number, signal) => sleep(10_000, { signal }).then(() => x), [
      1,
      2,
      3,
    ]);
    group.spawn(() => sleep(1).then(() => Promise.reject(boom)));
    await assert.rejects(mapping, (e) => e === boom);
    await assert.rejects(group.join(), (e) => e === boom);
  });

  await t.step("Group.kill stops a map with the kill reason", async () => {
    await using group = new Group({ limit: 2 });
    const reason = new Error("killed");
    const mapping = group.map((x: number, signal) => sleep(10_000, { signal }).then(() => x), [
      1,
      2,
      3,
    ]);
    await sleep(1);
    group.kill(reason);
    await assert.rejects(mapping, (e) => e === reason);
  });
});

Deno.test("A failure ends imap at its position and imapUnordered after what had finished", async (t) => {
  /** Lets pending promise reactions and zero-delay timers run. */
  const settle = () => sleep(0);

  await t.step("imap: earlier results first, an earlier item still running finishes", async () => {
    await using group = new Group({ limit: 4 });
    const boom = new Error("item 2 failed");
    const first = Promise.withResolvers<number>();
    const failing = Promise.withResolvers<number>();
    const signals: AbortSignal[] = [];
    const iterator = group.imap((x: number, signal) => {
      signals[x] = signal;
      if (x === 0) return first.promise; // still running when item 2 fails
      if (x === 1) return x; // finished before the failure
      if (x === 2) return failing.promise;
      return sleep(10_000, { signal }).then(() => x); // after the failure
    }, [0, 1, 2, 3]);
    const next = iterator.next();
    next.catch(() => {}); // asserted below
    await settle();
    failing.reject(boom);
    await settle();
    try {
      assert.equal(signals[0].aborted, false, "an item before the failure is not aborted");
      assert.equal(signals[3].aborted, true, "an item after the failure is aborted");
      assert.equal(signals[3].reason, boom);
    } finally {
      first.resolve(0); // lets the map end even when an assertion failed
    }
    assert.deepEqual(await next, { value: 0, done: false });
    assert.deepEqual(await iterator.next(), { value: 1, done: false });
    await assert.rejects(iterator.next(), (e) => e === boom);
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
    assert.equal(group.size, 0);
    assert.equal(await group.join(), true, "the map's caller owns the error");
  });

  await t.step("imap: a source error comes after the items pulled before it", async () => {
    await using group = new Group({ limit: 4 });
    const broken = new Error("source broke");
    const slow = Promise.withResolvers<number>();
    async function* source() {
      yield 0;
      yield 1;
      throw broken;
    }
    const iterator = group.imap((x: number) => (x === 0 ? slow.promise : x), source());
    const next = iterator.next();
    await settle();
    slow.resolve(0);
    assert.deepEqual(await next, { value: 0, done: false });
    assert.deepEqual(await iterator.next(), { value: 1, done: false });
    await assert.rejects(iterator.next(), (e) => e === broken);
  });

  await t.step("imapUnordered: results finished before the failure come first", async () => {
    await using group = new Group({ limit: 4 });
    const boom = new Error("item 1 failed");
    const failing = Promise.withResolvers<number>();
    const two = Promise.withResolvers<number>();
    const signals: AbortSignal[] = [];
    let lateFinished = false;
    const iterator = group.imapUnordered((x: number, signal) => {
      signals[x] = signal;
      if (x === 0) return x;
      if (x === 1) return failing.promise;
      if (x === 2) return two.promise; // finishes while the consumer is away
      // Still running at the failure; ignores its abort and finishes anyway.
      return sleep(5).then(() => (lateFinished = true, x));
    }, [0, 1, 2, 3]);
    assert.deepEqual(await iterator.next(), { value: 0, done: false });
    two.resolve(2);
    await settle();
    failing.reject(boom);
    await settle();
    assert.equal(signals[3].aborted, true, "a running item is aborted at the failure");
    assert.deepEqual(await iterator.next(), { value: 2, done: false });
    await assert.rejects(iterator.next(), (e) => e === boom);
    assert.equal(lateFinished, true, "the aborted item was awaited");
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });
});
