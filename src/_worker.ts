/**
 * The entry of every thread worker: it connects the worker runtime
 * (`_worker_runtime.ts`, which runs the chunks) to the worker's port, and
 * reports the ways a worker can go away that Deno does not report itself:
 * `self.close()`, `Deno.exit()`, and uncaught errors or unhandled
 * rejections in timers and stray promises.
 *
 * @module
 */

import { type ErrorData, type FromWorker, toErrorData, type ToWorker } from "./_protocol.ts";
import { startRuntime } from "./_worker_runtime.ts";

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  close(): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void;
}

const scope = globalThis as unknown as WorkerScope;
let exiting = false;

// Kept from the start (and a listener below, not onmessage): a task that
// replaces self.postMessage or self.onmessage must not cut the pool off.
const postMessage = scope.postMessage.bind(scope);

function post(message: FromWorker, transfer?: Transferable[]): void {
  postMessage(message, transfer);
}

/**
 * Tells the pool this worker is going away, after the answers it has, and
 * with the chunks it ends with; only the first report counts.
 */
function reportExit(reason: "close" | "exit" | "uncaught", error?: ErrorData, code?: number): void {
  if (exiting) return;
  exiting = true;
  const held = runtime.halt();
  post({
    type: "exit",
    reason,
    held,
    ...(error === undefined ? {} : { error }),
    ...(code === undefined ? {} : { code }),
  });
}

// Registered before anything can await: messages may already be queued.
const runtime = startRuntime(post);
scope.addEventListener("message", (event) => runtime.handle(event.data));

const realClose = scope.close.bind(scope);
scope.close = () => {
  reportExit("close");
  realClose();
};
globalThis.addEventListener("error", (event) => {
  event.preventDefault();
  reportExit("uncaught", toErrorData(event.error ?? event.message));
});
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  reportExit("uncaught", toErrorData(event.reason));
});
// Deno.exit() (and node:process exit()) in a worker ends only the worker, silently: it
// fires no event in the parent, only "unload" here, while posting still works.
globalThis.addEventListener("unload", () => {
  reportExit("exit", undefined, (Deno as { exitCode?: number }).exitCode);
});
