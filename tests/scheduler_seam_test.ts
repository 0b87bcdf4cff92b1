import assert from "node:assert/strict";
import type { Executor, ExecutorEvents } from "../src/_executor.ts";
import { type ChunkOutcome, Scheduler } from "../src/_scheduler.ts";

/** A remote-like executor: takes every chunk, starts it, records what the scheduler asks. */
function recordingExecutor(options: { abandon: boolean; stopped?: Promise<void> }) {
  const calls: string[] = [];
  let events: ExecutorEvents | undefined;
  const factory = (e: ExecutorEvents): Executor => {
    events = e;
    const executor: Executor = {
      prepare: () => undefined,
      offer: (chunks) => {
        for (const chunk of chunks) {
          calls.push(`offer ${chunk.id}`);
          e.started(chunk.id);
        }
        return chunks.length;
      },
      spare: () => 1,
      hold: () => {},
      cancel: (id) => calls.push(`cancel ${id}`),
      shutdown: () => Promise.resolve(),
      terminate: () => {
        calls.push("terminate");
        return options.stopped;
      },
      stats: () => ({ alive: 0, busy: 0, replaced: 0, wasmInstantiations: 0 }),
    };
    if (options.abandon) executor.abandon = (id) => calls.push(`abandon ${id}`);
    return executor;
  };
  return { factory, calls, events: () => events! };
}

const request = {
  spec: { kind: "module", url: "file:///t.ts", name: "f" },
  items: [1],
  star: false,
  timeout: undefined,
  signal: undefined,
} as const;

Deno.test("scheduler seam: a caller dropping a running chunk lets an executor with abandon() take it back", () => {
  const { factory, calls } = recordingExecutor({ abandon: true });
  const scheduler = new Scheduler(factory);
  const outcomes: ChunkOutcome[] = [];
  const ticket = scheduler.submit(request, (outcome) => outcomes.push(outcome));
  ticket.cancel();
  assert.deepEqual(calls, ["offer 0", "abandon 0"]);
  assert.equal(outcomes.length, 1);
  assert.equal(outcomes[0].ok, false);
  assert.equal(scheduler.stats().failed, 0, "an abandoned chunk is not a failure");
  scheduler.terminate();
});

Deno.test("scheduler seam: without abandon() a running chunk finishes and its outcome still arrives once", () => {
  const { factory, calls, events } = recordingExecutor({ abandon: false });
  const scheduler = new Scheduler(factory);
  const outcomes: ChunkOutcome[] = [];
  scheduler.submit(request, (outcome) => outcomes.push(outcome)).cancel();
  assert.deepEqual(outcomes, []);
  events().settled(0, { ok: true, results: [2] });
  assert.equal(outcomes.length, 1);
  assert.deepEqual(calls, ["offer 0"]);
  scheduler.terminate();
});

Deno.test("scheduler seam: terminate() and join() wait for the executor's terminate promise", async () => {
  const stopped = Promise.withResolvers<void>();
  const { factory } = recordingExecutor({ abandon: false, stopped: stopped.promise });
  const scheduler = new Scheduler(factory);
  let done = false;
  const terminated = scheduler.terminate().then(() => done = true);
  const joined = scheduler.join();
  await Promise.resolve();
  assert.equal(done, false);
  stopped.resolve();
  await terminated;
  await joined;
  assert.equal(done, true);
});
