/**
 * The entry of every thread worker, a Web Worker (sandboxed threads,
 * `_web_worker_transport.ts`) or a `node:worker_threads` thread, which
 * imports it (`_thread_worker.ts`): it connects the worker runtime
 * (`_worker_runtime.ts`, which runs the chunks) to the thread's web
 * messaging globals, and reports the ways a worker can go away that Deno
 * does not report itself (`_worker_exits.ts`). A `node:worker_threads`
 * thread has these globals too, and they cost less per message than its
 * `parentPort`.
 *
 * @module
 */

import type { FromWorker, ToWorker } from "./_protocol.ts";
import { startRuntime } from "./_worker_runtime.ts";
import { type ExitWatch, watchExits } from "./_worker_exits.ts";

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void;
}

const scope = globalThis as unknown as WorkerScope;

// Kept from the start (and a listener below, not onmessage): a task that
// replaces self.postMessage or self.onmessage must not cut the pool off.
const postMessage = scope.postMessage.bind(scope);

function post(message: FromWorker, transfer?: Transferable[]): void {
  // An empty transfer list costs a few µs per message on node:worker_threads threads.
  if (transfer === undefined || transfer.length === 0) postMessage(message);
  else postMessage(message, transfer);
}

const runtime = startRuntime(post);
/** This worker's exit reports. */
export const exits: ExitWatch = watchExits(post, runtime);

// Registered before anything can await: messages may already be queued.
const handle = exits.route(runtime.handle);
scope.addEventListener("message", (event) => handle(event.data));
