/**
 * gevent's two greenlets that sleep 1 and 2 units, as jobs of a `Group` on
 * the main thread: while one sleeps, the other runs.
 *
 * @module
 */

import { Group, sleep } from "../mod.ts";
import { formatMs, now, type PartOptions } from "./output.ts";

/** What {@linkcode coroutines} observed. */
export interface CoroutinesResult {
  /** Names of the coroutines in the order they logged (each nap, then done). */
  order: string[];
  /** Wall time of the group (ms). */
  elapsedMs: number;
  /** Sum of all sleeps: the wall time if they had run one after the other (ms). */
  sequentialMs: number;
}

/** Runs coroutine `a` (4 naps of 1 unit) and `b` (2 naps of 2 units) in a Group, printing the interleaving. */
export async function coroutines(options: PartOptions = {}): Promise<CoroutinesResult> {
  const print = options.print ?? console.log;
  const unit = options.quick ? 30 : 100;
  const order: string[] = [];
  const start = now();
  const log = (name: string, text: string) => {
    order.push(name);
    print(`${formatMs(now() - start).padStart(6)}  ${name}: ${text}`);
  };
  print(`1 unit = ${unit} ms`);
  await using group = new Group();
  group.spawn((signal) => coroutine("a", 1, { naps: 4, unit, log, signal }));
  group.spawn((signal) => coroutine("b", 2, { naps: 2, unit, log, signal }));
  await group.join();
  const elapsedMs = now() - start;
  const sequentialMs = 8 * unit;
  print(`Both done in ${formatMs(elapsedMs)}; one after the other: ${formatMs(sequentialMs)}`);
  return { order, elapsedMs, sequentialMs };
}

interface CoroutineOptions {
  naps: number;
  unit: number;
  log: (name: string, text: string) => void;
  signal: AbortSignal;
}

/** Naps `naps` times for `units` units each, logging every step. */
async function coroutine(name: string, units: number, options: CoroutineOptions): Promise<void> {
  const { naps, unit, log, signal } = options;
  for (let i = 1; i <= naps; i++) {
    log(name, `step ${i}/${naps}, sleeping ${units} unit${units > 1 ? "s" : ""}`);
    await sleep(units * unit, { signal });
  }
  log(name, "done");
}
