/**
 * The entry of every `node:worker_threads` thread (`_thread_transport.ts`):
 * the thread worker of `_worker.ts`, plus a watchdog for the heap limit.
 *
 * Deno 2.9 reports a thread that exhausts its `resourceLimits` only when
 * that happens in a timer callback; when it happens while a message is
 * handled or in a promise continuation, V8 stops that piece of JavaScript,
 * raises the heap limit to let it unwind, and the thread lives on with the
 * task never settling. The raised limit is visible here: the watchdog
 * notices it and reports the out-of-memory, and the host replaces the
 * thread.
 *
 * @module
 */

import { getHeapStatistics } from "node:v8";
import { resourceLimits } from "node:worker_threads";
import { exits } from "./_worker.ts";

/** How often the watchdog looks at the heap limit (ms). */
const WATCHDOG_MS = 50;

// Tasks written for Web Workers use `self`; a node:worker_threads thread has none.
(globalThis as { self?: unknown }).self ??= globalThis;

const initialLimit = getHeapStatistics().heap_size_limit;
setInterval(() => {
  if (getHeapStatistics().heap_size_limit <= initialLimit) return;
  exits.report("oom", {
    name: "RangeError",
    message: `JavaScript heap out of memory (maxHeapMb ${resourceLimits.maxOldGenerationSizeMb})`,
  });
}, WATCHDOG_MS);
