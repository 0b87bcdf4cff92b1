// Deterministic tests of what issue 12 adds to the seams, on fake workers
// and a manual clock: the scheduler holds the host's event loop exactly
// while work is outstanding (point 4); terminate() and join() wait until
// every worker is gone (a subprocess has exited); a slot reports how its
// worker exited (Deno.exit codes, signals) and can ask it to end on its own
// so that its exit handlers run (points 7 and 10).

import assert from "node:assert/strict";
import { RESPAWN_BASE_MS } from "../src/_supervisor.ts";
import { type SlotEnd, WorkerSlot } from "../src/_worker_slot.ts";
import { WorkerCrashedError } from "../src/errors.ts";
import { fakePool, FakeWorkers, ManualClock, Outcomes, request, SPEC } from "./_fake_backend.ts";

Deno.test("hold: an idle pool holds nothing; queued or running work holds the loop", async () => {
  const { scheduler, workers, holds } = fakePool({ size: 1 });
  const outcomes = new Outcomes();
  assert.equal(holds.count, 0, "starting workers of an idle pool do not hold the loop");
  scheduler.submit(request(1), outcomes.for(0));
  assert.equal(holds.count, 1, "a chunk queued for a starting worker holds the loop");
  workers.all[0].ready();
  scheduler.submit(request(2), outcomes.for(1));
  assert.equal(holds.count, 1, "one hold, however much work");
  workers.all[0].reply(0, [1]);
  assert.equal(holds.count, 1, "the second chunk still runs");
  workers.all[0].reply(1, [2]);
  assert.equal(holds.count, 0, "all work settled: released");
  assert.equal(holds.taken, 1);
  scheduler.submit(request(3), outcomes.for(2));
  assert.equal(holds.count, 1);
  workers.all[0].crash();
  assert.equal(holds.count, 0, "a failed chunk settles too");
  await scheduler.terminate();
  assert.equal(holds.count, 0);
});

Deno.test("hold: a chunk waiting through a start-up back-off keeps the loop; terminate() releases it", async () => {
  const { scheduler, workers, clock, holds } = fakePool({ size: 1 });
  const outcomes = new Outcomes();
  workers.all[0].crash("cannot start");
  assert.equal(holds.count, 0);
  scheduler.submit(request(1), outcomes.for(0));
  assert.equal(holds.count, 1, "queued while no worker runs: the back-off timer must fire");
  clock.advance(RESPAWN_BASE_MS);
  workers.all[1].ready();
  assert.equal(holds.count, 1);
  const terminated = scheduler.terminate();
  assert.ok(outcomes.error(0));
  await terminated;
  assert.equal(holds.count, 0);
});

Deno.test("hold: close() holds the loop until the shutdown is done", async () => {
  const { scheduler, workers, holds } = fakePool({ size: 1 });
  scheduler.close();
  assert.equal(holds.count, 1, "a starting worker finishes starting; join() must not be cut off");
  const joined = scheduler.join();
  workers.all[0].ready();
  await joined;
  assert.equal(holds.count, 0);
});

Deno.test("terminate() and join() wait until every worker is gone", async () => {
  const workers = new FakeWorkers();
  workers.reapLater = true;
  const { scheduler, holds } = fakePoolWith(workers, 2);
  workers.all.forEach((w) => w.ready());
  const outcomes = new Outcomes();
  scheduler.submit(request(1), outcomes.for(0)); // settled by terminate(): work is done, not the wait
  let done = false;
  const terminated = scheduler.terminate().then(() => (done = true));
  const joined = scheduler.join();
  await Promise.resolve();
  assert.equal(done, false, "a worker has not exited yet");
  assert.equal(holds.count, 1, "waiting for an (unref'd) exiting worker holds the loop");
  workers.all[0].reap();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(done, false);
  workers.all[1].reap();
  await terminated;
  await joined;
  assert.equal(holds.count, 0);
});

Deno.test("close() + join() waits for the workers' exit too", async () => {
  const workers = new FakeWorkers();
  workers.reapLater = true;
  const { scheduler } = fakePoolWith(workers, 1);
  workers.all[0].ready();
  scheduler.close();
  let joined = false;
  const join = scheduler.join().then(() => (joined = true));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(joined, false);
  workers.all[0].reap();
  await join;
});

/** A slot on one fake worker, recording how it ended. */
function slot(graceClock = new ManualClock()) {
  const workers = new FakeWorkers();
  const ends: SlotEnd[] = [];
  const settled: unknown[] = [];
  const s = new WorkerSlot({ transport: workers.transport, name: "w", clock: graceClock }, {
    ready: () => {},
    started: () => {},
    returned: () => {},
    settled: (_slot, _id, outcome) => settled.push(outcome),
    ended: (_slot, end) => ends.push(end),
  });
  workers.all[0].ready();
  return { slot: s, worker: workers.all[0], ends, settled, clock: graceClock };
}

Deno.test("slot: Deno.exit(code) fails the chunk it held and ends with that code", () => {
  const { slot: s, worker, ends, settled } = slot();
  s.run([{ id: 0, spec: SPEC, items: [1], star: false }]);
  worker.exitWith(8);
  const [outcome] = settled as { ok: false; error: unknown }[];
  assert.ok(outcome.error instanceof WorkerCrashedError);
  assert.match((outcome.error as Error).message, /Deno\.exit\(8\)/);
  assert.equal(ends.length, 1);
  assert.deepEqual(ends[0].kind === "crashed" && ends[0].status, { code: 8 });
  assert.equal(worker.alive, false);
});

Deno.test("slot: a worker whose process a signal killed ends with that signal", () => {
  const { worker, ends } = slot();
  worker.crash("killed", { signal: 9 });
  assert.deepEqual(ends[0].kind === "crashed" && ends[0].status, { signal: 9 });
});

Deno.test("slot: retire() asks the worker to end on its own and reports its exit code", () => {
  const { slot: s, worker, ends, clock } = slot();
  s.retire(1000);
  assert.equal(worker.count("exit"), 1, "the worker was asked to exit");
  assert.equal(s.state, "retiring");
  assert.equal(s.capacity(), 0, "a retiring worker takes no chunk");
  worker.exitWith(3);
  assert.deepEqual(ends, [{ kind: "exited", status: { code: 3 } }]);
  assert.equal(clock.pending, 0, "the grace timer was cleared");
});

Deno.test("slot: a retiring worker that does not end within the grace is stopped", () => {
  const { slot: s, worker, ends, clock } = slot();
  s.retire(1000);
  clock.advance(999);
  assert.equal(ends.length, 0);
  clock.advance(1);
  assert.deepEqual(ends, [{ kind: "exited", status: {} }]);
  assert.equal(worker.alive, false);
});

Deno.test("slot: stop(signal) passes the signal to the transport", () => {
  const { slot: s, worker, ends } = slot();
  s.stop("SIGTERM");
  assert.equal(worker.terminatedWith, "SIGTERM");
  assert.equal(ends.length, 0, "stop() is silent");
});

function fakePoolWith(workers: FakeWorkers, size: number) {
  return fakePool({ size, workers });
}
