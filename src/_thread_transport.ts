/**
 * The thread transport: one `node:worker_threads` thread running
 * `_thread_worker.ts`, with a heap limit (`resourceLimits`), so that an
 * out-of-memory ends that thread only (in a Web Worker it aborts the whole
 * host), and unref'd, so that an idle pool lets the host exit. Threads
 * share the host's permissions (`node:worker_threads` has no sandbox:
 * `permissions` use Web Workers, `_web_worker_transport.ts`). Every way
 * the thread can end on its own becomes one `exit` event.
 *
 * @module
 */

import { getHeapStatistics } from "node:v8";
import { Worker } from "node:worker_threads";
import type { FromWorker, ToWorker } from "./_protocol.ts";
import { WorkerCrashedError } from "./errors.ts";
import { type TransportFactory, WorkerLife } from "./_transport.ts";

const entry = new URL("./_thread_worker.ts", import.meta.url);

/**
 * The heap limit of a thread when the pool sets none (MB): the main
 * thread's own V8 heap limit, so a task may grow as large as it could on
 * the main thread, and one that grows larger fails alone instead of
 * aborting the host.
 */
export const DEFAULT_THREAD_HEAP_MB: number = Math.floor(
  getHeapStatistics().heap_size_limit / 2 ** 20,
);

/** Settings of {@linkcode threadTransport}. */
export interface ThreadTransportSettings {
  /** Heap limit of each thread (old generation, MB); default {@linkcode DEFAULT_THREAD_HEAP_MB}. */
  readonly maxHeapMb?: number | undefined;
}

/** A factory of `node:worker_threads` threads with `settings`; see the module doc. */
export function threadTransport(settings: ThreadTransportSettings = {}): TransportFactory {
  const maxHeapMb = settings.maxHeapMb ?? DEFAULT_THREAD_HEAP_MB;
  return (events, options) => {
    const worker = new Worker(entryUrl(), {
      name: options.name,
      resourceLimits: { maxOldGenerationSizeMb: maxHeapMb },
    });
    worker.unref();
    const life = new WorkerLife();
    const terminate = () => {
      // A thread spinning in a loop never finishes terminating (Deno 2.9): not awaited.
      if (life.end()) worker.terminate().catch(() => {});
    };
    const exit = (error: WorkerCrashedError, code?: number) => {
      if (!life.alive) return;
      terminate();
      events.exit(error, code === undefined ? undefined : { code });
    };
    worker.on("message", (message: FromWorker) => {
      if (life.alive) events.message(message);
    });
    worker.on("error", (error: Error & { code?: string }) => {
      exit(
        error.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? new WorkerCrashedError(
            `Worker ran out of memory: JavaScript heap out of memory (maxHeapMb ${maxHeapMb})`,
          )
          : new WorkerCrashedError(`Worker failed: ${error.message}`, { cause: error }),
      );
    });
    worker.on("messageerror", () => {
      exit(new WorkerCrashedError("Worker sent a message that could not be deserialized"));
    });
    worker.on("exit", (code: number) => {
      exit(new WorkerCrashedError(`Worker exited with code ${code}`), code);
    });
    return {
      post(message: ToWorker, transfer?: Transferable[]): void {
        // Passing no transfer list at all is 5 µs faster than passing `undefined`.
        if (transfer === undefined || transfer.length === 0) worker.postMessage(message);
        else worker.postMessage(message, transfer as never);
      },
      terminate,
      closed: life.closed,
    };
  };
}

/**
 * `node:worker_threads` loads `file:` and `data:` URLs only: from `http:`
 * or `https:` (JSR) a `data:` module imports the entry.
 */
function entryUrl(): URL {
  if (entry.protocol === "file:" || entry.protocol === "data:") return entry;
  return new URL(`data:text/javascript,import ${encodeURIComponent(JSON.stringify(entry.href))};`);
}
