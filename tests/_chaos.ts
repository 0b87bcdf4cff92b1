/**
 * The chaos soak of issue 6, shared by `tests/chaos_test.ts` (short) and
 * `bench/chaos_soak.ts` (long): thousands of tiny tasks, a few percent of
 * which throw, reject, crash their worker (uncaught error in a timer,
 * unhandled rejection), close or exit their worker, hang past a timeout or
 * are aborted. Each outcome is checked against what that task should do.
 *
 * @module
 */

import {
  liveWorkerCount,
  type Pool,
  RemoteError,
  taskModule,
  TaskTimeoutError,
  WorkerCrashedError,
} from "../mod.ts";
import type * as Faulty from "./fixtures/faulty_tasks.ts";
import { random } from "./_random.ts";

const faulty = taskModule<typeof Faulty>(new URL("./fixtures/faulty_tasks.ts", import.meta.url));

/** What one chaos item does: a kind of the fixture's `chaos` task, or an abort. */
export type ChaosKind = Faulty.ChaosKind | "abort";

/** The faults, each drawn with the same probability. */
export const FAULTS: readonly ChaosKind[] = [
  "throw",
  "reject",
  "timer",
  "unhandled",
  "close",
  "exit",
  "hang",
  "abort",
];

/** Options of {@linkcode runChaos}. */
export interface ChaosOptions {
  /** Number of `apply` calls. */
  tasks: number;
  /** Share of them that fault (0..1). */
  faultRate: number;
  /** Seed of the PRNG that picks the faults (replay a run with the same seed). */
  seed: number;
  /** Most calls in flight at once (the rest are not submitted yet). */
  window: number;
  /** Timeout of the `"hang"` tasks (ms). */
  hangTimeout: number;
  /** Every this many calls, also a `starmap` of good items (all must succeed). */
  mapEvery: number;
}

/** What {@linkcode runChaos} saw. */
export interface ChaosReport {
  /** Calls made (`apply` calls plus the items of the `starmap` calls). */
  readonly calls: number;
  /** How many calls of each kind settled as they should. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Calls that settled wrongly (a wrong value, or the wrong error). */
  readonly wrong: readonly string[];
  /** Most live workers seen (sampled every few ms). */
  readonly peakLive: number;
  /** Wall time (ms). */
  readonly ms: number;
}

/** Why `outcome` is wrong for an item of `kind` with input `x`, or `undefined` when it is right. */
function check(
  kind: ChaosKind,
  x: number,
  outcome: PromiseSettledResult<unknown>,
): string | undefined {
  const error = outcome.status === "rejected" ? outcome.reason : undefined;
  const is = (type: new (...args: never[]) => Error, pattern: RegExp) =>
    error instanceof type && pattern.test(error.message);
  let right: boolean;
  switch (kind) {
    case "ok":
    case "okAsync":
      right = outcome.status === "fulfilled" && outcome.value === 3 * x + 1;
      break;
    case "throw":
      right = is(RemoteError, new RegExp(`^RangeError: chaos ${x}$`));
      break;
    case "reject":
      right = is(RemoteError, new RegExp(`^TypeError: chaos ${x}$`));
      break;
    case "timer":
      right = is(WorkerCrashedError, new RegExp(`EvalError: chaos ${x}$`));
      break;
    case "unhandled":
      right = is(WorkerCrashedError, new RegExp(`URIError: chaos ${x}$`));
      break;
    case "close":
      right = is(WorkerCrashedError, /called close\(\)/);
      break;
    case "exit":
      right = is(WorkerCrashedError, new RegExp(`Deno\\.exit\\(${x % 100}\\)`));
      break;
    case "hang":
      right = is(TaskTimeoutError, /did not finish within/);
      break;
    case "abort":
      right = error instanceof Error && error.message === `abort ${x}`;
      break;
  }
  if (right) return undefined;
  const got = outcome.status === "fulfilled" ? `value ${outcome.value}` : String(error);
  return `item ${x} (${kind}): ${got}`;
}

/**
 * Runs the soak on `pool`; every call must settle (the caller bounds the
 * time) and the report lists the ones that settled wrongly.
 */
export async function runChaos(pool: Pool, options: ChaosOptions): Promise<ChaosReport> {
  const rand = random(options.seed);
  const outcomes: Record<string, number> = {};
  const wrong: string[] = [];
  let calls = 0;
  let peakLive = liveWorkerCount();
  const sampler = setInterval(() => (peakLive = Math.max(peakLive, liveWorkerCount())), 2);
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();

  const track = (promise: Promise<void>) => {
    inFlight.add(promise);
    promise.finally(() => inFlight.delete(promise));
  };
  const count = (kind: string, problem: string | undefined) => {
    if (problem === undefined) outcomes[kind] = (outcomes[kind] ?? 0) + 1;
    else wrong.push(problem);
  };

  try {
    for (let x = 0; x < options.tasks; x++) {
      while (inFlight.size >= options.window) await Promise.race(inFlight);
      const kind: ChaosKind = rand() < options.faultRate
        ? FAULTS[Math.floor(rand() * FAULTS.length)]
        : rand() < 0.5
        ? "ok"
        : "okAsync";
      let result: Promise<unknown>;
      if (kind === "abort") {
        const controller = new AbortController();
        // Aborted while queued or while running, depending on the traffic.
        setTimeout(() => controller.abort(new Error(`abort ${x}`)), Math.floor(rand() * 20));
        result = pool.apply(faulty.chaos, ["hang", x], { signal: controller.signal });
      } else {
        result = pool.apply(faulty.chaos, [kind, x], {
          timeout: kind === "hang" ? options.hangTimeout : undefined,
        });
      }
      calls++;
      track(Promise.allSettled([result]).then(([outcome]) => count(kind, check(kind, x, outcome))));
      if (x % options.mapEvery === options.mapEvery - 1) {
        const xs = Array.from({ length: 50 }, (_, i) => x * 100 + i);
        calls += xs.length;
        const pairs = xs.map((v): [Faulty.ChaosKind, number] => ["ok", v]);
        track(
          pool.starmap(faulty.chaos, pairs, { chunksize: 10 }).then(
            (values) => {
              const bad = values.findIndex((v, i) => v !== 3 * xs[i] + 1);
              count("starmap", bad < 0 ? undefined : `starmap item ${xs[bad]}: ${values[bad]}`);
            },
            (error) => count("starmap", `starmap at ${x}: ${error}`),
          ),
        );
      }
    }
    await Promise.all(inFlight);
  } finally {
    clearInterval(sampler);
  }
  return { calls, outcomes, wrong, peakLive, ms: performance.now() - started };
}
