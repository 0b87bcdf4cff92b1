/**
 * One Web Worker running `_worker.ts`, as Pool and Process see it: spawn it
 * with permissions, post messages, turn every way it can end (an error
 * event, its own exit report, `terminate()`) into one callback, and keep a
 * process-wide count of live workers.
 *
 * @module
 */

import {
  type DoneTuple,
  type FromWorker,
  isTuple,
  type TaskSpec,
  type ToWorker,
  type WorkerMessage,
} from "./_protocol.ts";
import { fromErrorData, WorkerCrashedError } from "./errors.ts";

const workerUrl = new URL("./_worker.ts", import.meta.url);
let live = 0;

/**
 * Returns how many multipool workers (of every Pool and Process) are alive
 * in this process. Useful in tests: after `terminate()` or `close()` +
 * `join()` it drops back to where it was.
 *
 * @example
 * ```ts
 * import { liveWorkerCount, Pool } from "@multipool/multipool";
 * const pool = new Pool({ size: 2 });
 * await pool.terminate();
 * console.log(liveWorkerCount()); // 0
 * ```
 */
export function liveWorkerCount(): number {
  return live;
}

/**
 * Deno worker permissions, as in `new Worker(url, { deno: { permissions } })`.
 *
 * @example
 * ```ts
 * import { Pool, type WorkerPermissions } from "@multipool/multipool";
 * const permissions: WorkerPermissions = { read: false, net: ["127.0.0.1"] };
 * await using pool = new Pool({ size: 1, permissions });
 * console.log(await pool.apply((x: number) => x + 1, [1])); // 2
 * ```
 */
export type WorkerPermissions = "inherit" | "none" | Deno.PermissionOptionsObject;

/** A worker's answer as its owner sees it: results arrive as a `done` message. */
export type Reply =
  | Exclude<WorkerMessage, { type: "exit" }>
  | { readonly type: "done"; readonly id: number; readonly results: unknown[] | Float64Array };

/** What a worker tells its owner. */
export interface WorkerListener {
  /** A message other than `exit`. */
  message(message: Reply): void;
  /** The worker is gone on its own (error event, `self.close()`, uncaught error). */
  exit(error: WorkerCrashedError): void;
}

/** Options for {@linkcode WorkerHandle}. */
export interface WorkerHandleOptions {
  name: string;
  permissions?: WorkerPermissions | undefined;
  initializer?: TaskSpec | undefined;
  initArgs?: readonly unknown[] | undefined;
}

/** A spawned worker. */
export class WorkerHandle {
  readonly #worker: Worker;
  #alive = true;
  /** Numbers of the task specs this worker was sent. */
  readonly #tasks = new Map<TaskSpec, number>();
  /** Keys of the WASM modules already sent to this worker. */
  readonly wasmKeys: Set<string> = new Set();

  constructor(listener: WorkerListener, options: WorkerHandleOptions) {
    this.#worker = createWorker(options);
    live++;
    this.#worker.onmessage = (event: MessageEvent<FromWorker>) => {
      if (!this.#alive) return;
      const message = event.data;
      if (isTuple<DoneTuple, WorkerMessage>(message)) {
        listener.message({ type: "done", id: message[0], results: message[1] });
      } else if (message.type === "exit") {
        const what = message.reason === "close"
          ? "Worker called close() before the task finished"
          : message.reason === "exit"
          ? `Worker called Deno.exit(${message.code ?? ""}) before the task finished`
          : `Worker had an uncaught error: ${message.error?.name}: ${message.error?.message}`;
        this.#exit(listener, what, message.error && fromErrorData(message.error));
      } else {
        listener.message(message);
      }
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      const detail = event.message || "unknown error";
      this.#exit(listener, `Worker failed: ${detail}`, event.error ?? undefined);
    };
    this.#worker.onmessageerror = () => {
      this.#exit(listener, "Worker sent a message that could not be deserialized", undefined);
    };
    const init: ToWorker = {
      type: "init",
      initializer: options.initializer,
      initArgs: options.initArgs,
    };
    this.#worker.postMessage(init);
  }

  /** Whether the worker has not been terminated and has not died. */
  get alive(): boolean {
    return this.#alive;
  }

  /** Posts a control message; throws when a value cannot be cloned. */
  post(message: ToWorker): void {
    this.#worker.postMessage(message);
  }

  /**
   * Runs chunk `id` of `spec` over `items`. The spec goes to the worker once;
   * later chunks refer to it by number. A packed chunk's buffer is
   * transferred. Throws when an item cannot be cloned.
   */
  run(
    id: number,
    spec: TaskSpec,
    items: readonly unknown[] | Float64Array<ArrayBuffer>,
    star: boolean,
  ): void {
    let task = this.#tasks.get(spec);
    if (task === undefined) {
      task = this.#tasks.size;
      this.#worker.postMessage({ type: "task", task, spec } satisfies ToWorker);
      this.#tasks.set(spec, task);
    }
    const chunk: ToWorker = [id, task, items, star ? 1 : 0];
    if (items instanceof Float64Array) this.#worker.postMessage(chunk, [items.buffer]);
    else this.#worker.postMessage(chunk);
  }

  /** Stops the worker now; idempotent. */
  terminate(): void {
    if (!this.#alive) return;
    this.#alive = false;
    live--;
    this.#worker.terminate();
  }

  #exit(listener: WorkerListener, message: string, cause: unknown): void {
    if (!this.#alive) return;
    this.terminate();
    listener.exit(new WorkerCrashedError(message, cause === undefined ? undefined : { cause }));
  }
}

function createWorker(options: WorkerHandleOptions): Worker {
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
          `(${new URL("./", workerUrl).href}), so the process needs that access too`,
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
  const own = new URL("./", workerUrl);
  if (own.protocol === "file:") {
    base.read = addEntry(base.read, decodeURIComponent(own.pathname));
  } else if (own.protocol === "http:" || own.protocol === "https:") {
    base.net = addEntry(base.net, own.host);
  }
  return base;
}

function addEntry<T extends string | URL>(
  current: boolean | "inherit" | T[] | undefined,
  entry: T,
): boolean | "inherit" | T[] {
  if (current === true || current === "inherit") return current;
  return Array.isArray(current) ? [...current, entry] : [entry];
}
