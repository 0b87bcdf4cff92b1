/**
 * Where an `apply` round trip spends the time a bare `postMessage` of a
 * number does not: each part timed alone in this process, in µs per call.
 *
 * - `checks`: the facade's argument checks (task lookup, argument tuple,
 *   cloneability, options);
 * - `host`: scheduler, executor, worker slot and wire encoding, the chunk
 *   and promise objects, timers and stats, with an in-memory worker that
 *   answers at once (no thread hop);
 * - `worker`: the worker runtime handling one chunk (decode, run the task,
 *   build and post its answer), with `postMessage` left out;
 * - `clone`: structured clone of the chunk and of its answer as they
 *   travelled last (a bare number each way for a call of one number that
 *   follows the one before on the same worker, JSON text for other calls of
 *   plain values), minus that of two bare numbers (what the minimal round
 *   trip pays too);
 * - `layer`: a bare-number round trip through `node:worker_threads` (what
 *   the pool's threads are, for heap limits and `unref()`) over one through
 *   a Web Worker (what the minimal round trip uses).
 *
 * Used by `bench/apply_latency.ts`.
 *
 * @module
 */

import { realClock } from "../src/_clock.ts";
import { localExecutor } from "../src/_local_executor.ts";
import type { FromWorker, ToWorker } from "../src/_protocol.ts";
import { type ChunkOutcome, Scheduler } from "../src/_scheduler.ts";
import { toTaskSpec } from "../src/task.ts";
import type { Transport, TransportEvents } from "../src/_transport.ts";
import {
  argumentTuple,
  cloneableTuple,
  optionalSignal,
  optionalTimeout,
} from "../src/_validate.ts";
import { startRuntime } from "../src/_worker_runtime.ts";
import { Worker as NodeWorker } from "node:worker_threads";
import { echo, percentile, RawEcho } from "./_pool_workloads.ts";

/** Microseconds per call of each part. */
export interface ApplyBreakdown {
  checks: number;
  host: number;
  worker: number;
  clone: number;
  /** A `node:worker_threads` round trip over a Web Worker's, both bare numbers. */
  layer: number;
}

const CALLS = 50_000;

function perCall(fn: (i: number) => void, calls = CALLS): number {
  for (let i = 0; i < 2000; i++) fn(i); // warm up
  const start = performance.now();
  for (let i = 0; i < calls; i++) fn(i);
  return ((performance.now() - start) * 1e3) / calls;
}

async function perCallAsync(fn: (i: number) => Promise<unknown>, calls = CALLS): Promise<number> {
  for (let i = 0; i < 2000; i++) await fn(i);
  const start = performance.now();
  for (let i = 0; i < calls; i++) await fn(i);
  return ((performance.now() - start) * 1e3) / calls;
}

/** The last chunk message an in-memory worker got, and its answer, as they travelled. */
const seen: { sent: unknown; answer: unknown } = { sent: undefined, answer: undefined };

/**
 * A worker in this thread: answers each chunk by echoing its item, in a
 * microtask, the way a worker answers (a bare number for a bare-number
 * call, else JSON text).
 */
function instantTransport(events: TransportEvents): Transport {
  return {
    post(sent: ToWorker): void {
      let answer: FromWorker | undefined;
      if (typeof sent === "number") answer = sent;
      else {
        const message: unknown = typeof sent === "string" ? JSON.parse(sent) : sent;
        if (Array.isArray(message)) {
          const [id, , items] = message as [number, number, unknown[][]];
          answer = JSON.stringify([id, [items[0][0]]]);
        } else if ((message as { type: string }).type === "init") {
          queueMicrotask(() => events.message({ type: "ready" }));
        }
      }
      if (answer === undefined) return;
      seen.sent = sent;
      seen.answer = answer;
      queueMicrotask(() => events.message(answer));
    },
    terminate(): void {},
    closed: Promise.resolve(),
    pid: undefined,
    ref(): void {},
    unref(): void {},
  } as unknown as Transport;
}

/** Times each part; see the module doc. */
export async function measureApplyBreakdown(): Promise<ApplyBreakdown> {
  const options = {};
  const checks = perCall((i) => {
    toTaskSpec(echo);
    cloneableTuple(argumentTuple([i], "args"), "args");
    optionalSignal((options as { signal?: AbortSignal }).signal);
    optionalTimeout((options as { timeout?: number }).timeout, "timeout");
  });

  const scheduler = new Scheduler(
    localExecutor({ size: 1, name: "breakdown", transport: instantTransport, clock: realClock }),
    { clock: realClock },
  );
  const spec = toTaskSpec(echo);
  await new Promise((resolve) => setTimeout(resolve, 10)); // the in-memory worker is ready
  const host = await perCallAsync((i) =>
    new Promise<ChunkOutcome>((resolve) =>
      scheduler.submit({
        spec,
        items: [[i]],
        star: true,
        timeout: undefined,
        signal: undefined,
      }, resolve)
    )
  );
  await scheduler.terminate();

  let answers = 0;
  const runtime = startRuntime(() => answers++);
  runtime.handle({ type: "task", task: 0, spec });
  runtime.handle([0, 0, [[0]], 1]);
  await new Promise((resolve) => setTimeout(resolve, 10)); // the task is compiled and cached
  // Each chunk as the host sent the last one (a bare number follows on the one before).
  const { sent, answer } = seen;
  const worker = typeof sent === "number"
    ? perCall((i) => runtime.handle(i))
    : perCall((i) => runtime.handle(`[${i},0,[[${i}]],1]`));
  if (answers < CALLS) throw new Error(`The worker runtime answered ${answers} chunks`);

  const ours = perCall(() => {
    structuredClone(sent);
    structuredClone(answer);
  });
  const bare = perCall((i) => {
    structuredClone(i);
    structuredClone(i);
  });
  return { checks, host, worker, clone: ours - bare, layer: await measureLayer() };
}

/**
 * p50 of a bare number echoed by a `node:worker_threads` Worker (what the
 * pool's threads are) minus that of a Web Worker (the minimal round trip),
 * interleaved one by one.
 */
async function measureLayer(rounds = 20_000): Promise<number> {
  const node = new NodeWorker(
    `require("node:worker_threads").parentPort.on("message", (m) => require("node:worker_threads").parentPort.postMessage(m));`,
    { eval: true },
  );
  const web = new RawEcho({ minimal: true });
  let resolveNode: (() => void) | undefined;
  node.on("message", () => resolveNode?.());
  const nodeTrip = (i: number) =>
    new Promise<void>((resolve) => {
      resolveNode = resolve;
      node.postMessage(i);
    });
  try {
    const times: [number[], number[]] = [[], []];
    for (let i = 0; i < rounds + 1000; i++) {
      const sides = [() => nodeTrip(i), () => web.roundTrip(i)];
      for (let k = 0; k < 2; k++) {
        const which = (i + k) % 2;
        const start = performance.now();
        await sides[which]();
        if (i >= 1000) times[which].push((performance.now() - start) * 1e3);
      }
    }
    return percentile(times[0], 50) - percentile(times[1], 50);
  } finally {
    web.close();
    await node.terminate();
  }
}

/** The parts of {@linkcode ApplyBreakdown} as printed lines, against the gap measured (apply − minimal raw). */
export function breakdownLines(parts: ApplyBreakdown, gapUs: number): string[] {
  const sum = parts.checks + parts.host + parts.worker + parts.clone + parts.layer;
  const f = (us: number) => us.toFixed(1).padStart(5);
  return [
    `  where apply spends its ${
      gapUs.toFixed(1)
    } µs over the minimal round trip (each part timed alone, µs/call):`,
    `    ${f(parts.checks)}  argument checks (task lookup, tuple, cloneability, options)`,
    `    ${
      f(parts.host)
    }  host: scheduler, executor, slot, wire encoding, chunk and promise, timers, stats`,
    `    ${f(parts.worker)}  worker: decode, run the task, encode and post its answer`,
    `    ${f(parts.clone)}  messages cloned beyond two bare numbers`,
    `    ${f(parts.layer)}  node:worker_threads over a Web Worker, a bare number echoed`,
    `    ${f(sum)}  sum; the rest (${
      (gapUs - sum).toFixed(1)
    } µs) is what the parts do not see alone (caches, code that runs in both)`,
  ];
}
