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
  type Answer,
  buffersOf,
  type ErrorReport,
  type Post,
  type RunMessage,
  Runner,
} from "./_worker_runner.ts";
import {
  type BatchTuple,
  type ChunkItems,
  type ControlMessage,
  isTuple,
  ownsBuffer,
  packNumbers,
  type RunTuple,
  type TaskSpec,
  toErrorData,
  type ToWorker,
} from "./_protocol.ts";

// deno-lint-ignore no-explicit-any
type AnyFunction = (...args: any[]) => unknown;

const functions = new Map<string, AnyFunction>();
/** Loaded tasks by the spec object the host's task number stands for (no key to build per chunk). */
const bySpec = new WeakMap<TaskSpec, AnyFunction>();
// deno-lint-ignore no-explicit-any
const wasmHandles = new Map<string, any>();
let wasmCall: Promise<typeof import("./_wasm_call.ts")> | undefined;
/** Task specs by the number the host sent them under. */
const specs = new Map<number, TaskSpec>();
let post: Post = () => {
  throw new Error("The worker runtime was not started");
};

/** A started runtime. */
export interface Runtime {
  /** Handles a message from the host. */
  handle(message: ToWorker): void;
  /**
   * The worker is going away: sends the answers collected so far, runs
   * nothing more, and returns the ids of the chunks that started and have
   * not been answered (the ones the worker ends with).
   */
  halt(): number[];
}

/**
 * Starts the runtime: answers go to `send`. Register its `handle` before
 * anything can await.
 */
export function startRuntime(send: Post): Runtime {
  post = send;
  const runner = new Runner(send, run);
  return { handle: (message) => handle(runner, message), halt: () => runner.halt() };
}

/** The last chunk the host sent: what a {@linkcode NextCall} follows on. */
const last = { id: NaN, task: NaN, star: false };

function handle(runner: Runner, received: ToWorker): void {
  if (typeof received === "number") {
    // A call of one number right after the last chunk (see NextCall).
    const id = ++last.id;
    const items = last.star ? [[received]] : [received];
    runner.receive([{ id, task: specs.get(last.task)!, items, star: last.star }]);
    return;
  }
  // A small chunk of plain values comes as JSON text (cheaper to post than a clone).
  const message = typeof received === "string" ? JSON.parse(received) as RunTuple : received;
  if (isTuple<RunTuple | BatchTuple, ControlMessage>(message)) {
    const [ids, task, items, flag] = message;
    const spec = specs.get(task)!;
    const star = flag === 1;
    last.task = task;
    last.star = star;
    if (typeof ids === "number") {
      last.id = ids;
      runner.receive([{ id: ids, task: spec, items: items as ChunkItems, star }]);
    } else {
      last.id = ids[ids.length - 1];
      const batch = items as readonly ChunkItems[];
      runner.receive(ids.map((id, i) => ({ id, task: spec, items: batch[i], star })));
    }
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
    case "resume":
      runner.resume(message.drop);
      break;
    case "drop":
      runner.drop(message.ids);
      break;
  }
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

/** The task run last and its function: most chunks in a row are of one task. */
let lastRun: { spec: TaskSpec | undefined; fn: AnyFunction | undefined } = {
  spec: undefined,
  fn: undefined,
};

function run(message: RunMessage, answer: Answer): void {
  const spec = message.task;
  let cached = lastRun.spec === spec ? lastRun.fn : bySpec.get(spec);
  if (cached === undefined) {
    cached = functions.get(taskKey(spec));
    if (cached !== undefined) bySpec.set(spec, cached);
  }
  if (cached !== undefined) {
    if (lastRun.spec !== spec) lastRun = { spec, fn: cached };
    execute(message, cached, answer);
    return;
  }
  loadTask(spec).then(
    (fn) => {
      bySpec.set(spec, fn);
      execute(message, fn, answer);
    },
    (error) =>
      answer.failed({ type: "error", id: message.id, index: 0, error: toErrorData(error) }),
  );
}

function execute(message: RunMessage, fn: AnyFunction, answer: Answer): void {
  const items = message.items;
  if (items instanceof Float64Array) {
    if (!message.star) {
      executeNumbers(message, fn, answer);
      return;
    }
  } else if (items.length === 1) {
    executeOne(message, fn, answer);
    return;
  }
  executeFrom(message, fn, answer, new Array<unknown>(items.length), 0);
}

/** A chunk of one call (an `apply`): the general way without its arrays and closures. */
function executeOne(message: RunMessage, fn: AnyFunction, answer: Answer): void {
  const item = message.items[0];
  let result: unknown;
  try {
    if (!message.star && !(fn.length > 1 && Array.isArray(item))) result = fn(item);
    else {
      const args = item as unknown[];
      // One argument (most calls) without a spread.
      result = args.length === 1 ? fn(args[0]) : fn(...args);
    }
  } catch (error) {
    answer.failed(...errorReply(message, { index: 0, error }, []));
    return;
  }
  if (isThenable(result)) {
    Promise.resolve(result).then(
      (value) => answer.done(message.id, [value], bufferOf(value)),
      (error) => answer.failed(...errorReply(message, { index: 0, error }, [])),
    );
    return;
  }
  answer.done(message.id, [result], bufferOf(result));
}

const NOTHING: readonly Transferable[] = Object.freeze([]);

/** The buffer of a result that is a buffer or a typed array, to move; else nothing. */
function bufferOf(value: unknown): readonly Transferable[] {
  if (typeof value !== "object" || value === null) return NOTHING;
  return buffersOf([value]);
}

/**
 * A chunk of plain numbers: results go straight into a Float64Array (sent
 * by transfer, no packing pass) while they are plain numbers; at the first
 * that is not, the rest goes the general way.
 */
function executeNumbers(message: RunMessage, fn: AnyFunction, answer: Answer): void {
  const items = message.items as Float64Array;
  // Results take the places of their items when the buffer is the worker's
  // own (it came by transfer and goes back the same way): nothing allocated.
  const out = ownsBuffer(items)
    ? items as Float64Array<ArrayBuffer>
    : new Float64Array(items.length);
  let i = 0;
  let result: unknown;
  try {
    for (; i < items.length; i++) {
      result = fn(items[i]);
      if (typeof result !== "number") break;
      out[i] = result;
    }
  } catch (error) {
    const before = Array.from(out.subarray(0, i));
    answer.failed(...errorReply(message, { index: i, error }, before));
    return;
  }
  if (i === items.length) {
    answer.done(message.id, out, [out.buffer]);
    return;
  }
  const results = new Array<unknown>(items.length);
  for (let k = 0; k < i; k++) results[k] = out[k];
  executeFrom(message, fn, answer, results, i, { result });
}

/**
 * Runs the items of a chunk from `start` on (`first`: the result of item
 * `start`, when it was computed already) and answers once all settled.
 */
function executeFrom(
  message: RunMessage,
  fn: AnyFunction,
  answer: Answer,
  results: unknown[],
  start: number,
  first?: { result: unknown },
): void {
  const { items, star } = message;
  // map() over a task with two or more required parameters spreads array items, like starmap.
  const spread = !star && fn.length > 1;
  let pending: Promise<void>[] | undefined;
  let failure: { index: number; error: unknown } | undefined;
  const fail = (index: number, error: unknown) => {
    if (failure === undefined || index < failure.index) failure = { index, error };
  };
  for (let i = start; i < items.length; i++) {
    let result: unknown;
    if (i === start && first !== undefined) {
      result = first.result;
    } else {
      try {
        const item = items[i];
        result = star || (spread && Array.isArray(item)) ? fn(...(item as unknown[])) : fn(item);
      } catch (error) {
        fail(i, error);
        break;
      }
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
    if (failure === undefined) {
      const packed = packNumbers(results);
      if (packed !== undefined) answer.done(message.id, packed, [packed.buffer]);
      else answer.done(message.id, results, buffersOf(results));
    } else {
      answer.failed(...errorReply(message, failure, results.slice(0, failure.index)));
    }
  };
  // The handlers above never reject: every item before a failure has its result.
  if (pending === undefined) finish();
  else Promise.all(pending).then(finish);
}

/** The report of the first failed item, with the results of the items before it. */
function errorReply(
  message: RunMessage,
  failure: { index: number; error: unknown },
  before: unknown[],
): [ErrorReport, Transferable[]] {
  const error = toErrorData(explain(message.task, failure.error));
  const { id } = message;
  const { index } = failure;
  const packed = packNumbers(before);
  const transfer = packed ? [packed.buffer] : buffersOf(before);
  return [{ type: "error", id, index, error, results: packed ?? before }, transfer];
}
