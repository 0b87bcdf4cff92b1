/**
 * The entry of every Web Worker (sandboxed threads, `_web_worker_transport.ts`):
 * it connects the worker runtime (`_worker_runtime.ts`, which runs the
 * chunks) to the worker's port, and reports the ways a worker can go away
 * that Deno does not report itself (`_worker_exits.ts`).
 *
 * @module
 */

import type { FromWorker, ToWorker } from "./_protocol.ts";
import { startRuntime } from "./_worker_runtime.ts";
import { watchExits } from "./_worker_exits.ts";

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void;
}

const scope = globalThis as unknown as WorkerScope;

// Kept from the start (and a listener below, not onmessage): a task that
// replaces self.postMessage or self.onmessage must not cut the pool off.
const postMessage = scope.postMessage.bind(scope);

function post(message: FromWorker, transfer?: Transferable[]): void {
  postMessage(message, transfer);
}

// Registered before anything can await: messages may already be queued.
const exits = watchExits(post);
const handle = exits.route(startRuntime(post));
scope.addEventListener("message", (event) => handle(event.data));
