/**
 * The Web Worker transport: one Deno Web Worker running `_worker.ts`,
 * started with the pool's Deno worker permissions (the only kind of thread
 * Deno sandboxes; it needs `--unstable-worker-options`). Used for threads
 * with `permissions`; other threads run on `node:worker_threads`
 * (`_thread_transport.ts`), which has heap limits. Every way the worker can
 * end on its own (an error event, a message that cannot be read) becomes
 * one `exit` event.
 *
 * @module
 */

import type { FromWorker, ToWorker } from "./_protocol.ts";
import { WorkerCrashedError } from "./errors.ts";
import { OWN_MODULES, ownModuleAccess } from "./_own_modules.ts";
import {
  type Transport,
  type TransportEvents,
  type TransportOptions,
  WorkerLife,
  type WorkerPermissions,
} from "./_transport.ts";

const workerUrl = new URL("./_worker.ts", import.meta.url);

/** Starts a Web Worker; see the module doc. */
export function webWorkerTransport(events: TransportEvents, options: TransportOptions): Transport {
  const worker = createWorker(options);
  unref(worker);
  const life = new WorkerLife();
  const terminate = () => {
    if (life.end()) worker.terminate();
  };
  const exit = (message: string, cause: unknown) => {
    if (!life.alive) return;
    terminate();
    events.exit(new WorkerCrashedError(message, cause === undefined ? undefined : { cause }));
  };
  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    if (life.alive) events.message(event.data);
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    exit(`Worker failed: ${event.message || "unknown error"}`, event.error ?? undefined);
  };
  worker.onmessageerror = () => {
    exit("Worker sent a message that could not be deserialized", undefined);
  };
  return {
    post(message: ToWorker, transfer?: Transferable[]): void {
      if (transfer === undefined) worker.postMessage(message);
      else worker.postMessage(message, transfer);
    },
    terminate,
    closed: life.closed,
  };
}

/**
 * Lets the host exit while the worker lives. Web Workers have no public
 * `unref()`; Deno 2.9 keeps a ref count behind an unnamed method (what its
 * `node:worker_threads` uses), found by its source. Without it the worker
 * keeps the host alive until the pool is closed (a documented limit).
 */
function unref(worker: Worker): void {
  const proto = Worker.prototype as unknown as Record<symbol, unknown>;
  for (const symbol of Object.getOwnPropertySymbols(proto)) {
    const method = proto[symbol];
    if (typeof method === "function" && method.length === 1 && /refCount/.test(String(method))) {
      method.call(worker, false);
      return;
    }
  }
}

function createWorker(options: TransportOptions): Worker {
  if (options.permissions === undefined) {
    return new Worker(workerUrl, { type: "module", name: options.name });
  }
  try {
    return new Worker(workerUrl, {
      type: "module",
      name: options.name,
      deno: { permissions: withOwnModules(options.permissions) },
    });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new Deno.errors.NotCapable(
        `Option permissions asks for more than this process has (${error.message}): a worker ` +
          `gets at most its parent's permissions, and multipool adds access to its own modules ` +
          `(${OWN_MODULES.href}), so the process needs that access too`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Adds what the worker needs to load its own modules: read access (file:) or net access (http:). */
function withOwnModules(permissions: WorkerPermissions): WorkerPermissions {
  if (permissions === "inherit") return permissions;
  const base: Deno.PermissionOptionsObject = permissions === "none" ? {} : { ...permissions };
  const own = ownModuleAccess();
  if (own.kind === "read") base.read = addEntry(base.read, own.path);
  else if (own.kind === "net") base.net = addEntry(base.net, own.host);
  return base;
}

function addEntry<T extends string | URL>(
  current: boolean | "inherit" | T[] | undefined,
  entry: T,
): boolean | "inherit" | T[] {
  if (current === true || current === "inherit") return current;
  return Array.isArray(current) ? [...current, entry] : [entry];
}
