/**
 * What runs chunks inside a worker, whatever carries its messages (a Web
 * Worker's port today; the entry module decides): it loads tasks (module
 * exports, inline sources, WASM exports), runs each chunk it is sent and
 * answers with one message per chunk.
 *
 * @module
 */

import { isThenable } from "./_thenable.ts";
import {
  type FromWorker,
  isTuple,
  packNumbers,
  type RunTuple,
  type TaskSpec,
  toErrorData,
  type ToWorker,
} from "./_protocol.ts";

/** Sends a message to the host, transferring `transfer`. */
export type Post = (message: FromWorker, transfer?: Transferable[]) => void;

// deno-lint-ignore no-explicit-any
type AnyFunction = (...args: any[]) => unknown;
/** A chunk to run, unpacked from its {@linkcode RunTuple}. */
interface RunMessage {
  readonly id: number;
  readonly task: TaskSpec;
  readonly items: RunTuple[2];
  readonly star: boolean;
}

const functions = new Map<string, AnyFunction>();
// deno-lint-ignore no-explicit-any
const wasmHandles = new Map<string, any>();
let wasmCall: Promise<typeof import("./_wasm_call.ts")> | undefined;
/** Task specs by the number the host sent them under. */
const specs = new Map<number, TaskSpec>();
let post: Post = () => {
  throw new Error("The worker runtime was not started");
};

/**
 * Starts the runtime: answers go to `send`. Returns the handler of every
 * message from the host; register it before anything can await.
 */
export function startRuntime(send: Post): (message: ToWorker) => void {
  post = send;
  return (message) => {
    if (isTuple<RunTuple, Exclude<ToWorker, RunTuple>>(message)) {
      const [id, task, items, star] = message;
      run({ id, task: specs.get(task)!, items, star: star === 1 });
      return;
    }
    switch (message.type) {
      case "task":
        specs.set(message.task, message.spec);
        break;
      case "wasm":
        registerWasm(message.key, message.module);
        break;
      case "init":
        init(message.initializer, message.initArgs ?? []);
        break;
    }
  };
}

function init(initializer: TaskSpec | undefined, args: readonly unknown[]): void {
  if (initializer === undefined) {
    post({ type: "ready" });
    return;
  }
  loadTask(initializer)
    .then((fn) => fn(...args))
    .then(
      () => post({ type: "ready" }),
      (error) => post({ type: "init-error", error: toErrorData(error) }),
    );
}

function registerWasm(key: string, module: WebAssembly.Module): void {
  wasmCall ??= import("./_wasm_call.ts");
  const handle = wasmCall.then((m) => m.instantiate(module));
  handle.catch(() => {}); // reported when a task uses it
  wasmHandles.set(key, handle);
}

function taskKey(spec: TaskSpec): string {
  switch (spec.kind) {
    case "module":
      return `m:${spec.url}#${spec.name}`;
    case "wasm":
      return `w:${spec.key}#${spec.name}`;
    case "source":
      return spec.source;
  }
}

async function loadTask(spec: TaskSpec): Promise<AnyFunction> {
  const key = taskKey(spec);
  const cached = functions.get(key);
  if (cached !== undefined) return cached;
  let fn: AnyFunction;
  switch (spec.kind) {
    case "module":
      fn = await loadExport(spec.url, spec.name);
      break;
    case "source":
      fn = compileSource(spec.source);
      break;
    case "wasm": {
      const handle = await wasmHandles.get(spec.key);
      if (handle === undefined) {
        throw new Error(`WASM module for export ${spec.name} was not sent to this worker`);
      }
      const call = (await wasmCall!).callExport;
      const abi = spec.abi;
      fn = (...args: unknown[]) => {
        try {
          return call(handle, spec.name, args, abi);
        } catch (error) {
          // "unreachable" alone does not say which export trapped.
          if (error instanceof WebAssembly.RuntimeError) {
            error.message = `WASM export '${spec.name}' trapped: ${error.message}`;
          }
          throw error;
        }
      };
      // Its arity, so that map() spreads [lo, hi] items for a two-parameter export.
      Object.defineProperty(fn, "length", { value: abi?.params.length ?? 0 });
      break;
    }
  }
  functions.set(key, fn);
  return fn;
}

// Deno colours some loader messages even when they do not go to a terminal.
// deno-lint-ignore no-control-regex
const ANSI_COLOUR = /\x1b\[[0-9;]*m/g;

async function loadExport(url: string, name: string): Promise<AnyFunction> {
  let module: Record<string, unknown>;
  try {
    module = await import(url);
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).replace(
      ANSI_COLOUR,
      "",
    );
    throw new Error(`Cannot load task module ${url} (for task '${name}'): ${reason}`, {
      cause: error,
    });
  }
  const value = module[name];
  if (typeof value !== "function") {
    const found = value === undefined ? "no such export" : `it is ${typeof value}`;
    throw new TypeError(`Task module ${url} has no exported function '${name}' (${found})`);
  }
  return value as AnyFunction;
}

function compileSource(source: string): AnyFunction {
  try {
    return new Function(`"use strict";\nreturn (${source});`)() as AnyFunction;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // Method shorthand such as `square(x) { ... }` is not an expression on its own.
    const holder = new Function(`"use strict";\nreturn ({ ${source} });`)() as Record<
      string,
      AnyFunction
    >;
    return Object.values(holder)[0];
  }
}

/** Explains a free variable that the main thread's check could not see. */
function explain(spec: TaskSpec, error: unknown): unknown {
  if (spec.kind !== "source" || !(error instanceof ReferenceError)) return error;
  const name = /^(\S+) is not defined/.exec(error.message)?.[1];
  if (name === undefined) return error;
  const explained = new ReferenceError(
    `Inline task uses '${name}', which is not defined in the worker: pass it as an argument or use taskModule()`,
  );
  explained.stack = `${explained.name}: ${explained.message}\n${
    error.stack?.split("\n").slice(1).join("\n") ?? ""
  }`;
  return explained;
}

function run(message: RunMessage): void {
  const cached = functions.get(taskKey(message.task));
  if (cached !== undefined) {
    execute(message, cached);
    return;
  }
  loadTask(message.task).then(
    (fn) => execute(message, fn),
    (error) => post({ type: "error", id: message.id, index: 0, error: toErrorData(error) }),
  );
}

function execute(message: RunMessage, fn: AnyFunction): void {
  const { items, star } = message;
  // map() over a task with two or more required parameters spreads array items, like starmap.
  const spread = !star && fn.length > 1;
  const results = new Array<unknown>(items.length);
  let pending: Promise<void>[] | undefined;
  let failure: { index: number; error: unknown } | undefined;
  const fail = (index: number, error: unknown) => {
    if (failure === undefined || index < failure.index) failure = { index, error };
  };
  for (let i = 0; i < items.length; i++) {
    let result: unknown;
    try {
      const item = items[i];
      result = star || (spread && Array.isArray(item)) ? fn(...(item as unknown[])) : fn(item);
    } catch (error) {
      fail(i, error);
      break;
    }
    if (isThenable(result)) {
      const index = i;
      (pending ??= []).push(
        Promise.resolve(result).then((value) => {
          results[index] = value;
        }, (error) => fail(index, error)),
      );
    } else {
      results[i] = result;
    }
  }
  const finish = () => {
    if (failure === undefined) reply(message, results);
    else replyError(message, failure, results.slice(0, failure.index));
  };
  // The handlers above never reject: every item before a failure has its result.
  if (pending === undefined) finish();
  else Promise.all(pending).then(finish);
}

/** Reports the first failed item, with the results of the items before it when they can be sent. */
function replyError(
  message: RunMessage,
  failure: { index: number; error: unknown },
  before: unknown[],
): void {
  const error = toErrorData(explain(message.task, failure.error));
  const { id } = message;
  const { index } = failure;
  const packed = packNumbers(before);
  try {
    const transfer = packed ? [packed.buffer] : transferables(before);
    post({ type: "error", id, index, error, results: packed ?? before }, transfer);
  } catch {
    post({ type: "error", id, index, error });
  }
}

/** Typed arrays and buffers among the results: transferred, not copied. */
function transferables(results: unknown[]): Transferable[] {
  let found: Set<ArrayBuffer> | undefined;
  for (const value of results) {
    let buffer: ArrayBufferLike | undefined;
    if (value instanceof ArrayBuffer) buffer = value;
    else if (ArrayBuffer.isView(value)) buffer = value.buffer;
    if (buffer instanceof ArrayBuffer) (found ??= new Set()).add(buffer);
  }
  return found === undefined ? [] : [...found];
}

function reply(message: RunMessage, results: unknown[]): void {
  const packed = packNumbers(results);
  if (packed !== undefined) {
    post([message.id, packed], [packed.buffer]);
    return;
  }
  try {
    post([message.id, results], transferables(results));
  } catch (error) {
    const index = results.findIndex((value) => {
      try {
        structuredClone(value);
        return false;
      } catch {
        return true;
      }
    });
    const reason = error instanceof Error ? error.message : String(error);
    const cloneError = new TypeError(
      `Result ${Math.max(index, 0)} of the chunk could not be sent to the main thread: ${reason}`,
    );
    post({
      type: "error",
      id: message.id,
      index: Math.max(index, 0),
      error: toErrorData(cloneError),
    });
  }
}
