/**
 * `deno task demo [part...]`: the seed articles replayed on multipool, with
 * real output. Without a part name, runs every part in order.
 *
 * @module
 */

import { cluster } from "./cluster.ts";
import { coroutines } from "./coroutines.ts";
import { cpuSpeedup } from "./cpu_speedup.ts";
import { imapProgress } from "./imap_progress.ts";
import { ioCpu } from "./io_cpu.ts";
import { mandelbrot } from "./mandelbrot.ts";
import { methodsTable } from "./methods_table.ts";
import { formatMs, now, type PartOptions } from "./output.ts";
import { registration } from "./registration.ts";

/** One part of the demo. */
export interface Part {
  /** Name to run it alone: `deno task demo <name>`. */
  name: string;
  /** Heading printed above its output. */
  title: string;
  /** Runs the part, printing as it goes. */
  run: (options?: PartOptions) => Promise<unknown>;
}

/** Every part, in the order the full demo runs them. */
export const PARTS: readonly Part[] = [
  {
    name: "registration",
    title: "Batch registration: a Process per user vs one Pool",
    run: registration,
  },
  {
    name: "methods",
    title: "map / apply / mapAsync / applyAsync, from what they did",
    run: methodsTable,
  },
  { name: "coroutines", title: "Two coroutines in a Group (gevent)", run: coroutines },
  {
    name: "io",
    title: "IO and CPU together: a Group fetches, pool.imap hashes with WASM",
    run: ioCpu,
  },
  { name: "cpu", title: "CPU-bound WASM kernel: 1 worker vs all cores", run: cpuSpeedup },
  {
    name: "imap",
    title: "imap over a 10-million-item generator, in flat memory",
    run: imapProgress,
  },
  {
    name: "mandelbrot",
    title: "Mandelbrot in parallel with the WASM kernel, as a PNG",
    run: mandelbrot,
  },
  {
    name: "cluster",
    title: "The same Pool over NATS JetStream: two worker processes share the primes",
    run: cluster,
  },
];

/** Runs the parts named in `args` (all when empty); prints usage and returns 2 for an unknown name. */
export async function main(args: string[]): Promise<number> {
  const unknown = args.filter((arg) => !PARTS.some((part) => part.name === arg));
  if (unknown.length > 0) {
    const help = unknown.every((arg) => arg === "--help" || arg === "-h");
    if (!help) console.error(`Unknown part: ${unknown.join(", ")}`);
    console.log("Usage: deno task demo [part...]\n\nParts, run in this order by default:");
    for (const part of PARTS) console.log(`  ${part.name.padEnd(14)}${part.title}`);
    return help ? 0 : 2;
  }
  const selected = args.length === 0 ? PARTS : PARTS.filter((part) => args.includes(part.name));
  const start = now();
  for (const [i, part] of selected.entries()) {
    console.log(`\n== ${i + 1}/${selected.length} ${part.title} [${part.name}] ==\n`);
    await part.run();
  }
  console.log(`\nDemo done in ${formatMs(now() - start)}`);
  return 0;
}

if (import.meta.main) Deno.exitCode = await main(Deno.args);
