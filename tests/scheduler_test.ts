// Deterministic tests of the scheduler, the local executor, the supervisor
// and the worker slots (issue 11, point 2): fake workers that answer only
// when told to, and a manual clock. No real worker, no sleep.

import assert from "node:assert/strict";
import type { TaskSpec } from "../src/_protocol.ts";
import { Scheduler } from "../src/_scheduler.ts";
import { RESPAWN_BASE_MS } from "../src/_supervisor.ts";
import { ensureModule, registerLazyModule } from "../src/_wasm_registry.ts";
import {
  PoolClosedError,
  QueueFullError,
  RemoteError,
  TaskTimeoutError,
  WorkerCrashedError,
} from "../src/errors.ts";
import { fakePool, Outcomes, request, SPEC } from "./_fake_backend.ts";

Deno.test("scheduler: a chunk runs on a ready worker and settles once", () => {
  const { scheduler, workers } = fakePool({ size: 2 });
  const outcomes = new Outcomes();
  assert.equal(workers.all.length, 2);
  scheduler.submit(request(1), outcomes.for(0));
  assert.equal(workers.all[0].chunks().length, 0, "nothing is sent before the worker is ready");
  assert.equal(scheduler.stats().queued, 1);
  workers.all[1].ready();
  assert.deepEqual(workers.all[1].chunkIds(), [0]);
  assert.equal(workers.all[1].count("task"), 1);
  assert.deepEqual(scheduler.stats().busy, 1);
  workers.all[1].reply(0, [10]);
  assert.deepEqual(outcomes.results(0), [10]);
  workers.all[1].reply(0, [11]); // a stray second answer is ignored
  outcomes.allSettledOnce([0]);
  assert.equal(scheduler.stats().completed, 1);
  scheduler.terminate();
  assert.equal(workers.alive().length, 0);
});

Deno.test("scheduler: the task spec goes to a worker once; later chunks refer to it", () => {
  const { scheduler, workers } = fakePool();
  const outcomes = new Outcomes();
  const w = workers.all[0];
  w.ready();
  for (let i = 0; i < 3; i++) {
    scheduler.submit(request(i), outcomes.for(i));
    w.reply(i, [i]);
  }
  assert.equal(w.count("task"), 1);
  assert.deepEqual(w.chunks().map((c) => c[1]), [0, 0, 0]);
  outcomes.allSettledOnce([0, 1, 2]);
  scheduler.terminate();
});

Deno.test("scheduler: crash during init backs off, fails the backlog, then heals", () => {
  const { scheduler, workers, clock } = fakePool({ size: 1 });
  const outcomes = new Outcomes();
  scheduler.submit(request(1), outcomes.for(0));
  workers.all[0].crash("cannot start");
  const error = outcomes.error(0);
  assert.ok(error instanceof WorkerCrashedError, String(error));
  assert.match(error.message, /cannot start/);
  assert.equal(workers.all.length, 1, "the replacement waits for its back-off");
  clock.advance(RESPAWN_BASE_MS - 1);
  assert.equal(workers.all.length, 1);
  clock.advance(1);
  assert.equal(workers.all.length, 2);
  workers.all[1].ready();
  scheduler.submit(request(2), outcomes.for(1));
  workers.all[1].reply(1, [4]);
  assert.deepEqual(outcomes.results(1), [4]);
  scheduler.terminate();
  assert.equal(clock.pending, 0);
});

Deno.test("scheduler: a failing initializer rejects queued work with a RemoteError", () => {
  const { scheduler, workers } = fakePool({ size: 1, initializer: SPEC });
  const outcomes = new Outcomes();
  scheduler.submit(request(1), outcomes.for(0));
  workers.all[0].initError("no setup");
  const error = outcomes.error(0);
  assert.ok(error instanceof RemoteError);
  assert.match(error.message, /Pool initializer failed: Error: no setup/);
  scheduler.terminate();
});

Deno.test("scheduler: an initializer that hangs past taskTimeout is a startup failure", () => {
  const { scheduler, workers, clock } = fakePool({
    size: 1,
    initializer: SPEC,
    initTimeout: 100,
  });
  const outcomes = new Outcomes();
  scheduler.submit(request(1), outcomes.for(0));
  clock.advance(100);
  assert.ok(outcomes.error(0) instanceof TaskTimeoutError);
  assert.equal(workers.all[0].alive, false);
  scheduler.terminate();
});

Deno.test("scheduler: crash while busy fails only the chunk it held; the next runs on a replacement", () => {
  const { scheduler, workers } = fakePool({ size: 1 });
  const outcomes = new Outcomes();
  workers.all[0].ready();
  scheduler.submit(request(1), outcomes.for(0));
  scheduler.submit(request(2), outcomes.for(1));
  workers.all[0].crash("segfault");
  assert.ok(outcomes.error(0) instanceof WorkerCrashedError);
  assert.equal(outcomes.has(1), false, "the queued chunk waits for the replacement");
  assert.equal(workers.all.length, 2, "replaced at once (it had started fine)");
  assert.equal(scheduler.stats().replaced, 1);
  workers.all[1].ready();
  assert.deepEqual(workers.all[1].chunkIds(), [1]);
  workers.all[1].reply(1, [4]);
  assert.deepEqual(outcomes.results(1), [4]);
  scheduler.terminate();
});

Deno.test("scheduler: a timeout counts from the start, stops the worker and replaces it", () => {
  const { scheduler, workers, clock } = fakePool({ size: 1 });
  const outcomes = new Outcomes();
  workers.all[0].ready();
  scheduler.submit(request(1, { timeout: 100 }), outcomes.for(0));
  scheduler.submit(request(2, { timeout: 100 }), outcomes.for(1));
  clock.advance(60);
  workers.all[0].reply(0, [1]);
  clock.advance(60); // chunk 1 started 60 ms ago: not timed out yet
  assert.equal(outcomes.has(1), false);
  clock.advance(40);
  const error = outcomes.error(1);
  assert.ok(error instanceof TaskTimeoutError);
  assert.match(error.message, /did not finish within 100 ms/);
  assert.equal(workers.all[0].alive, false);
  assert.equal(workers.all.length, 2);
  workers.all[0].alive = true; // a late answer of the stopped worker is ignored
  workers.all[0].reply(1, [2]);
  outcomes.allSettledOnce([0, 1]);
  scheduler.terminate();
});

Deno.test("scheduler: abort", async (t) => {
  await t.step("while queued: removed, rejected with the reason, never sent", () => {
    const { scheduler, workers } = fakePool({ size: 1 });
    const outcomes = new Outcomes();
    const controller = new AbortController();
    scheduler.submit(request(1, { signal: controller.signal }), outcomes.for(0));
    const reason = new Error("changed my mind");
    controller.abort(reason);
    assert.equal(outcomes.error(0), reason);
    workers.all[0].ready();
    assert.deepEqual(workers.all[0].chunkIds(), []);
    assert.equal(scheduler.stats().queued, 0);
    scheduler.terminate();
  });
  await t.step("while running: rejected, its worker stopped and replaced", () => {
    const { scheduler, workers } = fakePool({ size: 1 });
    const outcomes = new Outcomes();
    const controller = new AbortController();
    workers.all[0].ready();
    scheduler.submit(request(1, { signal: controller.signal }), outcomes.for(0));
    controller.abort("stop");
    assert.equal(outcomes.error(0), "stop");
    assert.equal(workers.all[0].alive, false);
    assert.equal(workers.all.length, 2);
    scheduler.terminate();
  });
  await t.step("already aborted: settles at once, nothing queued", () => {
    const { scheduler, workers } = fakePool({ size: 1 });
    const outcomes = new Outcomes();
    scheduler.submit(request(1, { signal: AbortSignal.abort("early") }), outcomes.for(0));
    assert.equal(outcomes.error(0), "early");
    workers.all[0].ready();
    assert.deepEqual(workers.all[0].chunkIds(), []);
    scheduler.terminate();
  });
});

Deno.test("scheduler: maxQueue counts starting workers as room, and room frees as chunks start", async () => {
  const { scheduler, workers } = fakePool({ size: 2, maxQueue: 1 });
  const outcomes = new Outcomes();
  for (let i = 0; i < 3; i++) scheduler.submit(request(i), outcomes.for(i));
  assert.throws(() => scheduler.submit(request(3), outcomes.for(3)), QueueFullError);
  let roomed = false;
  const room = scheduler.waitForRoom()!.then(() => (roomed = true));
  assert.ok(room);
  workers.all[0].ready(); // takes chunk 0; chunks 1 and 2 still wait, one beyond the starting worker
  await Promise.resolve();
  assert.equal(roomed, false);
  workers.all[0].reply(0, [0]); // takes chunk 1
  await room;
  assert.equal(roomed, true);
  assert.equal(scheduler.waitForRoom(), undefined);
  scheduler.terminate();
  assert.ok(outcomes.error(1) instanceof PoolClosedError);
  assert.ok(outcomes.error(2) instanceof PoolClosedError);
});

Deno.test("scheduler: a worker is recycled after maxTasksPerWorker chunks", () => {
  const { scheduler, workers } = fakePool({ size: 1, maxTasksPerWorker: 2 });
  const outcomes = new Outcomes();
  workers.all[0].ready();
  for (let i = 0; i < 3; i++) scheduler.submit(request(i), outcomes.for(i));
  workers.all[0].reply(0, [0]);
  workers.all[0].reply(1, [1]);
  assert.equal(workers.all[0].alive, false, "recycled after its second chunk");
  assert.deepEqual(workers.all[0].chunkIds(), [0, 1]);
  assert.equal(workers.all.length, 2);
  workers.all[1].ready();
  assert.deepEqual(workers.all[1].chunkIds(), [2]);
  workers.all[1].reply(2, [2]);
  outcomes.allSettledOnce([0, 1, 2]);
  assert.equal(scheduler.stats().replaced, 1);
  scheduler.terminate();
});

Deno.test("scheduler: terminate() while workers start rejects everything and leaves nothing", () => {
  const { scheduler, workers, clock } = fakePool({ size: 2, initializer: SPEC, initTimeout: 500 });
  const outcomes = new Outcomes();
  for (let i = 0; i < 4; i++) scheduler.submit(request(i), outcomes.for(i));
  scheduler.terminate();
  for (let i = 0; i < 4; i++) assert.ok(outcomes.error(i) instanceof PoolClosedError);
  assert.equal(workers.alive().length, 0);
  assert.equal(clock.pending, 0, "no init timer or back-off left behind");
  assert.throws(() => scheduler.submit(request(9), outcomes.for(9)), PoolClosedError);
});

Deno.test("scheduler: close() lets starting workers finish starting; join() waits for them", async () => {
  const { scheduler, workers } = fakePool({ size: 2, initializer: SPEC });
  scheduler.close();
  let joined = false;
  const join = scheduler.join().then(() => (joined = true));
  await Promise.resolve();
  assert.equal(workers.alive().length, 2, "a starting worker is not stopped by close()");
  workers.all[0].ready();
  assert.equal(workers.all[0].alive, false, "stopped once its initializer ran");
  await Promise.resolve();
  assert.equal(joined, false);
  workers.all[1].ready();
  await join;
  assert.equal(workers.alive().length, 0);
});

Deno.test("scheduler: close() runs queued work first; a lease submits after close()", async () => {
  const { scheduler, workers } = fakePool({ size: 1 });
  const outcomes = new Outcomes();
  scheduler.submit(request(1), outcomes.for(0));
  const lease = scheduler.lease();
  scheduler.close();
  assert.throws(() => scheduler.submit(request(2), outcomes.for(1)), PoolClosedError);
  lease.submit(request(3), outcomes.for(2));
  const join = scheduler.join();
  workers.all[0].ready();
  workers.all[0].reply(0, [1]);
  workers.all[0].reply(1, [3]);
  assert.equal(workers.all[0].alive, true, "the lease is not released yet");
  lease.release();
  await join;
  assert.equal(workers.all[0].alive, false);
  assert.deepEqual(outcomes.results(2), [3]);
});

Deno.test("scheduler: a failed chunk's outcome arrives before its worker takes the next chunk", () => {
  const { scheduler, workers } = fakePool({ size: 1 });
  const outcomes = new Outcomes();
  const w = workers.all[0];
  w.ready();
  scheduler.submit(request(-1), outcomes.for(-1)); // times the task: now it is known to be cheap
  w.reply(0, [-1]);
  const tickets: { cancel(): void }[] = [];
  // As a map does: on a failure, drop the chunks after it, synchronously.
  const onFirst = (outcome: Parameters<ReturnType<Outcomes["for"]>>[0]) => {
    outcomes.for(0)(outcome);
    if (!outcome.ok) { for (const ticket of tickets) ticket.cancel(); }
  };
  scheduler.submit(request(0), onFirst);
  for (let i = 1; i < 4; i++) tickets.push(scheduler.submit(request(i), outcomes.for(i)));
  assert.deepEqual(w.chunkIds(), [0, 1, 2], "chunk 2 waits in the worker (pipelined)");
  assert.equal(scheduler.stats().queued, 3, "chunks 3 and 4 wait in the queue, 2 in the worker");
  w.fail(1, "bad item", []);
  assert.ok(outcomes.error(0) instanceof RemoteError);
  assert.deepEqual(w.received.at(-1), { type: "resume", drop: [2] }, "the worker skips chunk 2");
  assert.deepEqual(w.chunkIds(), [0, 1, 2], "no chunk was sent after the failure");
  assert.equal(scheduler.stats().queued, 0);
  assert.equal(scheduler.stats().failed, 1, "cancelled chunks are not failures");
  outcomes.allSettledOnce([-1, 0, 1, 2, 3]);
  assert.equal(w.alive, true);
  scheduler.submit(request(5), outcomes.for(5));
  assert.deepEqual(w.chunkIds().at(-1), 5, "the worker takes new work");
  scheduler.terminate();
});

Deno.test("scheduler: a crash fails the running chunk only; those sent behind it run elsewhere", () => {
  const { scheduler, workers } = fakePool({ size: 2 });
  const outcomes = new Outcomes();
  const [a, b] = workers.all;
  a.ready();
  scheduler.submit(request(-1), outcomes.for(-1)); // times the task: now it is known to be cheap
  a.reply(0, [-1]);
  for (let i = 1; i <= 3; i++) scheduler.submit(request(i), outcomes.for(i));
  assert.deepEqual(a.chunkIds(), [0, 1, 2], "chunk 2 waits in worker a, chunk 3 in the queue");
  a.crash("segfault");
  assert.ok(outcomes.error(1) instanceof WorkerCrashedError);
  assert.equal(outcomes.has(2) || outcomes.has(3), false, "they never started");
  b.ready();
  assert.deepEqual(b.chunkIds(), [2, 3], "in one message: the task is known to be cheap");
  assert.equal(b.chunks().length, 1);
  b.replyAll([2, 3], [[2], [3]]);
  assert.deepEqual(outcomes.results(2), [2]);
  assert.deepEqual(outcomes.results(3), [3]);
  scheduler.terminate();
});

Deno.test("scheduler: an exit report names the chunks it ends with; the others are returned", () => {
  const { scheduler, workers } = fakePool({ size: 1 });
  const outcomes = new Outcomes();
  const w = workers.all[0];
  w.ready();
  scheduler.submit(request(-1), outcomes.for(-1));
  w.reply(0, [-1]);
  for (let i = 1; i <= 3; i++) scheduler.submit(request(i), outcomes.for(i));
  w.reply(1, [1]);
  assert.deepEqual(w.chunkIds(), [0, 1, 2, 3]);
  w.exit("exit", [2]); // chunk 2 called Deno.exit(); chunk 3 never started
  const error = outcomes.error(2);
  assert.ok(error instanceof WorkerCrashedError);
  assert.match(error.message, /Deno\.exit/);
  assert.equal(outcomes.has(3), false);
  assert.equal(workers.all.length, 2);
  workers.all[1].ready();
  assert.deepEqual(workers.all[1].chunkIds(), [3]);
  scheduler.terminate();
});

Deno.test("scheduler: an error keeps the results of the items before it", () => {
  const { scheduler, workers } = fakePool({ size: 1 });
  const outcomes = new Outcomes();
  workers.all[0].ready();
  scheduler.submit(request(0, { items: [1, 2, 3] }), outcomes.for(0));
  workers.all[0].fail(0, "third", [1, 4]);
  const outcome = outcomes.of(0);
  assert.equal(outcome.ok, false);
  assert.deepEqual(Array.from((outcome as { partial: ArrayLike<unknown> }).partial), [1, 4]);
  assert.equal(workers.all[0].alive, true, "a task error keeps the worker");
  scheduler.terminate();
});

/**
 * A scheduler over an in-memory executor that runs every chunk it is
 * offered at once (echoing its id), and prepares `slow` with `preparing`.
 */
function instantScheduler(slow: TaskSpec, preparing: Promise<void>) {
  const offered: number[] = [];
  const holds: boolean[] = [];
  const scheduler = new Scheduler((events) => ({
    prepare: (spec) => spec === slow ? preparing : undefined,
    offer: ([chunk]) => {
      offered.push(chunk.id);
      events.started(chunk.id);
      events.settled(chunk.id, { ok: true, results: [chunk.id] });
      return 1;
    },
    spare: () => 1,
    cancel: () => {},
    hold: (active) => holds.push(active),
    shutdown: () => Promise.resolve(),
    terminate: () => Promise.resolve(),
    stats: () => ({ alive: 1, busy: 0, replaced: 0, wasmInstantiations: 0 }),
  }));
  return { scheduler, offered, holds };
}

Deno.test("scheduler: a chunk whose task is still being prepared waits on its own", async () => {
  const prepared = Promise.withResolvers<void>();
  const slow: TaskSpec = { kind: "wasm", key: "slow", name: "f" };
  const { scheduler, offered } = instantScheduler(slow, prepared.promise);
  const outcomes = new Outcomes();
  scheduler.submit(request(0, { spec: slow }), outcomes.for(0));
  scheduler.submit(request(1), outcomes.for(1));
  scheduler.submit(request(2), outcomes.for(2));
  assert.deepEqual(offered, [1, 2], "other chunks go on while the module compiles");
  assert.equal(scheduler.stats().queued, 1);
  prepared.resolve();
  await prepared.promise;
  await Promise.resolve();
  assert.deepEqual(offered, [1, 2, 0]);
  outcomes.allSettledOnce([0, 1, 2]);
  scheduler.terminate();
});

Deno.test("scheduler: a preparation that fails rejects only the chunks that needed it", async () => {
  const { promise, reject } = Promise.withResolvers<void>();
  const bad: TaskSpec = { kind: "wasm", key: "bad", name: "f" };
  const { scheduler, offered } = instantScheduler(bad, promise);
  const outcomes = new Outcomes();
  scheduler.submit(request(0, { spec: bad }), outcomes.for(0));
  scheduler.submit(request(1), outcomes.for(1));
  const error = new TypeError("Module has imports");
  reject(error);
  await promise.catch(() => {});
  assert.equal(outcomes.error(0), error);
  assert.deepEqual(outcomes.results(1), [1]);
  assert.deepEqual(offered, [1]);
  scheduler.terminate();
});

Deno.test("local executor: a WASM module still compiling does not block other chunks", async () => {
  const key = `test:lazy-${crypto.randomUUID()}`;
  // The smallest valid module, fetched and compiled lazily on first use.
  registerLazyModule(key, new URL("data:application/wasm;base64,AGFzbQEAAAA="));
  const wasm: TaskSpec = { kind: "wasm", key, name: "f" };
  const { scheduler, workers } = fakePool({ size: 1 });
  const outcomes = new Outcomes();
  const w = workers.all[0];
  w.ready();
  scheduler.submit(request(0, { spec: wasm }), outcomes.for(0));
  scheduler.submit(request(1), outcomes.for(1));
  assert.deepEqual(w.chunkIds(), [1], "the plain chunk went first");
  assert.equal(w.count("wasm"), 0);
  w.reply(1, [1]);
  await ensureModule(key);
  await Promise.resolve();
  assert.deepEqual(w.chunkIds(), [1, 0]);
  assert.equal(w.count("wasm"), 1, "the module went to the worker before its chunk");
  w.reply(0, [0]);
  outcomes.allSettledOnce([0, 1]);
  assert.equal(scheduler.stats().wasmInstantiations, 1);
  scheduler.terminate();
});

Deno.test("scheduler: abort of a chunk waiting in a worker", async (t) => {
  /** A pool whose task is known to be cheap, with chunk 1 running and chunk 2 waiting behind it. */
  function pipelined() {
    const pool = fakePool({ size: 1 });
    const outcomes = new Outcomes();
    const controller = new AbortController();
    const w = pool.workers.all[0];
    w.ready();
    pool.scheduler.submit(request(-1), outcomes.for(-1));
    w.reply(0, [-1]);
    pool.scheduler.submit(request(1), outcomes.for(1));
    pool.scheduler.submit(request(2, { signal: controller.signal }), outcomes.for(2));
    assert.deepEqual(w.chunkIds(), [0, 1, 2]);
    controller.abort("no longer");
    assert.equal(outcomes.error(2), "no longer");
    assert.deepEqual(w.received.at(-1), { type: "drop", ids: [2] });
    return { ...pool, outcomes, w };
  }
  await t.step("the worker skips it: nothing is stopped", () => {
    const { scheduler, outcomes, w, workers } = pipelined();
    w.dropped([2]);
    w.reply(1, [1]);
    assert.deepEqual(outcomes.results(1), [1]);
    assert.equal(w.alive, true);
    assert.equal(workers.all.length, 1);
    scheduler.submit(request(3), outcomes.for(3));
    assert.equal(w.chunkIds().at(-1), 3, "the slot is free again");
    scheduler.terminate();
  });
  await t.step("it had started: once it runs, its worker is stopped and replaced", () => {
    const { scheduler, outcomes, w, workers } = pipelined();
    scheduler.submit(request(3), outcomes.for(3)); // waits in the queue
    w.reply(1, [1]); // now the unwanted chunk 2 runs
    assert.equal(w.alive, false);
    assert.equal(workers.all.length, 2);
    workers.all[1].ready();
    assert.deepEqual(workers.all[1].chunkIds(), [3]);
    outcomes.allSettledOnce([1, 2]);
    scheduler.terminate();
  });
});

Deno.test("scheduler: chunks answered in one message share one clock reading, and so do chunks that start together", () => {
  const { scheduler, workers, clock } = fakePool();
  const outcomes = new Outcomes();
  const w = workers.all[0];
  w.ready();
  scheduler.submit(request(0), outcomes.for(0)); // times the task: now it is known to be cheap
  w.reply(0, [0]);
  // Chunk 1 runs, chunk 2 waits in the worker, chunks 3-9 in the queue.
  for (let i = 1; i <= 9; i++) scheduler.submit(request(i), outcomes.for(i));
  w.reply(1, [1]); // chunk 2 starts; 3-9 go behind it, coalesced
  assert.deepEqual(w.chunks().map(([ids]) => ids), [0, 1, 2, [3, 4, 5, 6, 7, 8, 9]]);
  let readings = 0;
  const now = clock.now.bind(clock);
  clock.now = () => {
    readings++;
    return now();
  };
  clock.advance(2);
  w.reply(2, [2]); // one reading for the answer and the seven starts
  assert.equal(readings, 1);
  clock.advance(3);
  w.replyAll([3, 4, 5, 6, 7, 8, 9], [[3], [4], [5], [6], [7], [8], [9]]);
  assert.equal(readings, 2, "one reading for seven answers");
  outcomes.allSettledOnce([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // The readings are the chunks' times: chunk 2 ran 2 ms, each of the batch 3 ms.
  assert.equal(outcomes.of(2).runTime, 2);
  for (let i = 3; i <= 9; i++) assert.equal(outcomes.of(i).runTime, 3);
  assert.equal(scheduler.stats().runTime.max, 3);
  scheduler.terminate();
});
