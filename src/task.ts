/**
 * Task references: how work that runs in a worker is named on the main
 * thread. A worker cannot receive a closure, so a task is either an export of
 * a module (like pickling by reference in Python) or a self-contained
 * function sent as source.
 *
 * @module
 */

import type { TaskSpec } from "./_protocol.ts";
import { freeNames } from "./_free_names.ts";

/**
 * A reference to a function that a worker can load: an export of a task
 * module, a built-in WASM kernel, or an export of your own WASM module. `A`
 * and `R` are the argument tuple and the result type, checked at the call.
 *
 * @example
 * ```ts
 * import { taskModule, type TaskRef } from "@multipool/multipool";
 * const tasks = taskModule<{ square(x: number): number }>(
 *   new URL("./tasks.ts", import.meta.url),
 * );
 * const square: TaskRef<[x: number], number> = tasks.square;
 * ```
 */
export interface TaskRef<A extends unknown[], R> {
  /** What the worker loads: module URL and export name, or WASM module key and export. */
  readonly spec: TaskSpec;
  /** Type-only marker carrying the signature; never set at run time. */
  readonly signature?: (...args: A) => R;
}

/**
 * Anything a pool method accepts as work: a {@linkcode TaskRef}, or a
 * self-contained function (it is sent as source text, so it must not use
 * variables from its surrounding scope; pass them as arguments instead).
 *
 * @example
 * ```ts
 * import { Pool, type Task } from "@multipool/multipool";
 * const double: Task<[x: number], number> = (x: number) => x * 2;
 * await using pool = new Pool({ size: 1 });
 * console.log(await pool.apply(double, [21])); // 42
 * ```
 */
export type Task<A extends unknown[], R> =
  | TaskRef<A, R>
  | ((...args: A) => R | PromiseLike<R>);

/**
 * The typed task references of a module: one {@linkcode TaskRef} per
 * exported function, with `Awaited` result types.
 *
 * @example
 * ```ts
 * import { taskModule, type TaskModule } from "@multipool/multipool";
 * type Tasks = { add(a: number, b: number): number; label: string };
 * const tasks: TaskModule<Tasks> = taskModule<Tasks>("https://example.com/tasks.ts");
 * tasks.add; // TaskRef<[a: number, b: number], number>; `label` is not a task
 * ```
 */
export type TaskModule<M> = {
  readonly [
    // deno-lint-ignore no-explicit-any
    K in keyof M as M[K] extends (...args: any[]) => unknown ? K : never
  ]: M[K] extends (...args: infer A) => infer R ? TaskRef<A, Awaited<R>> : never;
};

/**
 * Returns typed references to the exported functions of the module at
 * `url`. Nothing is loaded on the main thread: each worker imports the
 * module the first time it runs one of its tasks. A module or export that
 * does not exist fails the task with an error naming both.
 *
 * Usually the type comes from the module itself:
 * `taskModule<typeof import("./tasks.ts")>(new URL("./tasks.ts", import.meta.url))`.
 * Any URL a worker can import works, `data:` included:
 *
 * @example
 * ```ts
 * import { Pool, taskModule } from "@multipool/multipool";
 * const source = "export function square(x) { return x * x; }";
 * const tasks = taskModule<{ square(x: number): number }>(`data:text/javascript,${source}`);
 * await using pool = new Pool({ size: 2 });
 * console.log(await pool.map(tasks.square, [1, 2, 3])); // [1, 4, 9]
 * ```
 */
export function taskModule<M>(url: URL | string): TaskModule<M> {
  const href = moduleHref(url);
  const refs = new Map<string, TaskRef<unknown[], unknown>>();
  return new Proxy({} as TaskModule<M>, {
    get(_target, name) {
      // Not a thenable, and symbols are not exports.
      if (typeof name !== "string" || name === "then") return undefined;
      let ref = refs.get(name);
      if (ref === undefined) {
        ref = Object.freeze({ spec: Object.freeze({ kind: "module", url: href, name }) });
        refs.set(name, ref);
      }
      return ref;
    },
  });
}

function moduleHref(url: URL | string): string {
  if (url instanceof URL) return url.href;
  if (typeof url === "string") {
    try {
      return new URL(url).href;
    } catch {
      throw new TypeError(
        `Argument url must be an absolute URL such as new URL("./tasks.ts", import.meta.url), got "${url}"`,
      );
    }
  }
  throw new TypeError(`Argument url must be a URL or a string, got ${typeof url}`);
}

const inlineSpecs = new WeakMap<(...args: never[]) => unknown, TaskSpec>();
/** Specs by source text: an arrow written inside a loop is a new function each time, same source. */
const sourceSpecs = new Map<string, TaskSpec>();
const SOURCE_CACHE_SIZE = 256;

/** Resolves a task argument to the spec a worker can load; throws a `TypeError` for bad input. */
export function toTaskSpec(task: unknown): TaskSpec {
  if (typeof task === "function") return inlineSpec(task as (...args: never[]) => unknown);
  if (task !== null && typeof task === "object" && "spec" in task) {
    const spec = (task as TaskRef<unknown[], unknown>).spec;
    if (spec !== null && typeof spec === "object" && typeof spec.kind === "string") return spec;
  }
  throw new TypeError(
    `Argument task must be a function or a task reference (taskModule(), kernels, wasmModule()), got ${
      describe(task)
    }`,
  );
}

function inlineSpec(fn: (...args: never[]) => unknown): TaskSpec {
  const cached = inlineSpecs.get(fn);
  if (cached !== undefined) return cached;
  const source = Function.prototype.toString.call(fn);
  if (source.includes("[native code]")) {
    throw new TypeError(
      `Argument task is a native or bound function (${
        fn.name || "anonymous"
      }), which cannot be sent to a worker: use taskModule() or a self-contained function`,
    );
  }
  const known = sourceSpecs.get(source);
  if (known !== undefined && known.name === fn.name) {
    inlineSpecs.set(fn, known);
    return known;
  }
  const free = checkedFreeNames(source, fn.name);
  if (free.length > 0) {
    const names = free.map((n) => `'${n}'`).join(", ");
    throw new TypeError(
      `Inline task ${fn.name || "(anonymous)"} uses ${names} from its surrounding scope: ` +
        `pass ${free.length > 1 ? "them" : "it"} as an argument or use taskModule()`,
    );
  }
  const spec: TaskSpec = Object.freeze({ kind: "source", source, name: fn.name });
  inlineSpecs.set(fn, spec);
  if (sourceSpecs.size >= SOURCE_CACHE_SIZE) sourceSpecs.delete(sourceSpecs.keys().next().value!);
  sourceSpecs.set(source, spec);
  return spec;
}

/** The free names of an inline task's source; a source that does not parse is a `TypeError`. */
function checkedFreeNames(source: string, name: string): string[] {
  try {
    return freeNames(source);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new TypeError(
      `Inline task ${name || "(anonymous)"} cannot be parsed as a function (${error.message}), ` +
        `so it cannot be checked or sent to a worker: use taskModule()`,
      { cause: error },
    );
  }
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return `an object (${value.constructor?.name ?? "Object"})`;
  if (typeof value === "string") return `the string "${value.slice(0, 40)}"`;
  return `${typeof value} ${String(value)}`;
}

/** A readable label of a task for error messages. */
export function taskLabel(spec: TaskSpec): string {
  switch (spec.kind) {
    case "module":
      return `${spec.name} from ${spec.url}`;
    case "wasm":
      return `WASM export ${spec.name}`;
    case "source":
      return `inline task ${spec.name || "(anonymous)"}`;
  }
}
