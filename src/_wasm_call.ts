/**
 * Calls into WebAssembly modules from inside a worker: instantiation and the
 * marshalling of arguments and results.
 *
 * The ABI (what multipool's build script produces, see `scripts/build_asm.ts`):
 *
 * - A number crosses as a wasm `i32`/`f32`/`f64` value, a bigint as `i64`.
 * - An array crosses as ONE `i32` pointer `p` into the exported `memory`: the
 *   elements start at `p` (16-byte aligned) and the byte length is the `u32`
 *   at `p - 4`. This is the memory layout of an AssemblyScript
 *   `StaticArray<T>` (or `ArrayBuffer`), so an AssemblyScript export simply
 *   declares `a: StaticArray<f64>` as a parameter or result type.
 * - To pass arrays in, the module exports `__mp_alloc(bytes): ptr` (allocate
 *   such a block) and `__mp_reset()` (free everything); the build script adds
 *   both. Every call starts with `__mp_reset()`, so memory never grows past
 *   what the largest single call needs, and a call that trapped leaves
 *   nothing behind.
 * - An array result is copied out of memory into a fresh typed array, which
 *   the pool can transfer to the main thread.
 * - Which parameters are arrays and what the result is comes from a
 *   {@linkcode WasmAbi}: given with the task, else read from the module's
 *   `multipool.abi` custom section (written by the build script), else
 *   inferred from the arguments (typed arrays become arrays, the result is a
 *   number).
 *
 * A trap throws a `WebAssembly.RuntimeError` out of {@linkcode callExport};
 * the instance stays usable for the next call (no re-instantiation).
 *
 * @module
 */

/**
 * Element types of arrays that cross the WASM boundary, as AssemblyScript names them.
 *
 * @example
 * ```ts
 * import { type WasmArrayKind } from "@multipool/multipool";
 * const kind: WasmArrayKind = "f64[]"; // a Float64Array parameter or result
 * console.log(kind); // "f64[]"
 * ```
 */
export type WasmArrayKind =
  | "i8[]"
  | "u8[]"
  | "i16[]"
  | "u16[]"
  | "i32[]"
  | "u32[]"
  | "i64[]"
  | "u64[]"
  | "f32[]"
  | "f64[]";

/**
 * How one argument crosses: a number (`i32`/`f32`/`f64`), a bigint (`i64`), or an array.
 *
 * @example
 * ```ts
 * import { type WasmParamKind } from "@multipool/multipool";
 * const params: WasmParamKind[] = ["f64[]", "number"]; // (a: Float64Array, k: number)
 * console.log(params.length); // 2
 * ```
 */
export type WasmParamKind = "number" | "bigint" | WasmArrayKind;

/**
 * How the result comes back: a number, an unsigned 32-bit number (`u32`,
 * which wasm returns as a signed `i32`), a boolean, a bigint (`i64`), an
 * unsigned bigint (`u64`), nothing, or a fresh typed array.
 *
 * @example
 * ```ts
 * import { type WasmResultKind } from "@multipool/multipool";
 * const result: WasmResultKind = "u32"; // an unsigned 32-bit number, as fnv1a32 returns
 * console.log(result); // "u32"
 * ```
 */
export type WasmResultKind = "number" | "u32" | "bool" | "bigint" | "u64" | "void" | WasmArrayKind;

/**
 * What one exported function takes and returns. Plain data: it travels inside a task spec.
 *
 * @example
 * ```ts
 * import { type WasmAbi } from "@multipool/multipool";
 * const scale: WasmAbi = { params: ["f64[]", "number"], result: "f64[]" };
 * console.log(scale.result); // "f64[]"
 * ```
 */
export interface WasmAbi {
  /** One entry per JavaScript argument. */
  readonly params: readonly WasmParamKind[];
  /** The result. */
  readonly result: WasmResultKind;
}

/** Name of the custom section in which the build script records the ABI of every export. */
export const ABI_SECTION = "multipool.abi";
/** Export that allocates an array block of `bytes` bytes and returns its pointer. */
export const ALLOC_EXPORT = "__mp_alloc";
/** Export that frees every block allocated since the last reset. */
export const RESET_EXPORT = "__mp_reset";

type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

/** The typed array class of each array kind. */
export const ARRAY_TYPES: Readonly<Record<WasmArrayKind, TypedArrayConstructor>> = {
  "i8[]": Int8Array,
  "u8[]": Uint8Array,
  "i16[]": Int16Array,
  "u16[]": Uint16Array,
  "i32[]": Int32Array,
  "u32[]": Uint32Array,
  "i64[]": BigInt64Array,
  "u64[]": BigUint64Array,
  "f32[]": Float32Array,
  "f64[]": Float64Array,
};

const PARAM_KINDS: ReadonlySet<string> = new Set(["number", "bigint", ...Object.keys(ARRAY_TYPES)]);
const RESULT_KINDS: ReadonlySet<string> = new Set([
  ...PARAM_KINDS,
  "u32",
  "bool",
  "u64",
  "void",
]);

/** An instantiated module, ready for {@linkcode callExport}. */
export interface WasmHandle {
  /** The instance; one per module per worker. */
  readonly instance: WebAssembly.Instance;
  /** The exported memory, when the module has one. */
  readonly memory: WebAssembly.Memory | undefined;
  /** Exported functions by name. */
  readonly functions: ReadonlyMap<string, (...args: unknown[]) => unknown>;
  /** ABI recorded in the module's custom section, by export name. */
  readonly abi: ReadonlyMap<string, WasmAbi>;
}

/**
 * Returns why `module` cannot run in multipool (it has imports), or
 * `undefined` when it can. The text names each import and how to build
 * without it.
 */
export function importProblem(
  module: WebAssembly.Module,
  label = "WASM module",
): string | undefined {
  const imports = WebAssembly.Module.imports(module);
  if (imports.length === 0) return undefined;
  const names = imports.map((i) => `${i.module}.${i.name} (${i.kind})`).join(", ");
  return `${label} imports ${names}, but multipool instantiates modules without imports: ` +
    `build it with "deno run -A jsr:@multipool/multipool/build-asm in.ts out.wasm", ` +
    `or pass asc "--runtime stub --use abort=" and do not use host functions such as console.log`;
}

/** Reads the ABI that the build script recorded in `module`, by export name. */
export function readAbiSection(module: WebAssembly.Module): Map<string, WasmAbi> {
  const abi = new Map<string, WasmAbi>();
  const sections = WebAssembly.Module.customSections(module, ABI_SECTION);
  if (sections.length === 0) return abi;
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder().decode(sections[0]));
  } catch (error) {
    throw new TypeError(`WASM module has a malformed ${ABI_SECTION} section`, { cause: error });
  }
  const exports = (data as { exports?: unknown } | null)?.exports;
  if (exports === null || typeof exports !== "object") {
    throw new TypeError(`WASM module has a malformed ${ABI_SECTION} section: no exports object`);
  }
  for (const [name, entry] of Object.entries(exports)) {
    abi.set(name, checkAbi(entry, `ABI of export ${name}`));
  }
  return abi;
}

/** Validates a {@linkcode WasmAbi} given as data; throws a `TypeError` naming `what`. */
export function checkAbi(value: unknown, what: string): WasmAbi {
  const abi = value as { params?: unknown; result?: unknown } | null;
  if (
    abi === null || typeof abi !== "object" || !Array.isArray(abi.params) ||
    !abi.params.every((p) => PARAM_KINDS.has(p)) || typeof abi.result !== "string" ||
    !RESULT_KINDS.has(abi.result)
  ) {
    throw new TypeError(
      `${what} must be { params: ("number" | "bigint" | "f64[]" | ...)[], result: "number" | "u32" | "void" | "u16[]" | ... }, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return { params: abi.params as WasmParamKind[], result: abi.result as WasmResultKind };
}

/**
 * Instantiates `module` synchronously with no imports.
 *
 * @throws {TypeError} when the module has imports (the message names them).
 */
export function instantiate(module: WebAssembly.Module): WasmHandle {
  const problem = importProblem(module);
  if (problem !== undefined) throw new TypeError(problem);
  const instance = new WebAssembly.Instance(module, {});
  const functions = new Map<string, (...args: unknown[]) => unknown>();
  let memory: WebAssembly.Memory | undefined;
  for (const [name, value] of Object.entries(instance.exports)) {
    if (typeof value === "function") functions.set(name, value as (...args: unknown[]) => unknown);
    else if (value instanceof WebAssembly.Memory && (name === "memory" || memory === undefined)) {
      memory = value;
    }
  }
  return { instance, memory, functions, abi: readAbiSection(module) };
}

/**
 * Calls export `name` of `handle` with `args` and returns its result:
 * numbers as numbers, arrays as fresh typed arrays (see the module doc for
 * the ABI). `abi` describes the export; when omitted, the module's own ABI
 * section or the arguments decide.
 *
 * @throws {TypeError} for an unknown export or arguments that do not fit the ABI.
 * @throws {WebAssembly.RuntimeError} when the code traps; the handle stays usable.
 */
export function callExport(
  handle: WasmHandle,
  name: string,
  args: readonly unknown[],
  abi: WasmAbi | undefined,
): unknown {
  const fn = handle.functions.get(name);
  if (fn === undefined) {
    throw new TypeError(`WASM module has no exported function '${name}'`);
  }
  const spec = abi ?? handle.abi.get(name);
  if (spec !== undefined && args.length !== spec.params.length) {
    throw new TypeError(
      `WASM export '${name}' takes ${spec.params.length} argument(s), got ${args.length}`,
    );
  }
  const reset = handle.functions.get(RESET_EXPORT);
  if (reset !== undefined) reset();
  const raw: unknown[] = new Array(args.length);
  for (let i = 0; i < args.length; i++) {
    raw[i] = lowerArgument(handle, name, i, args[i], spec?.params[i]);
  }
  return liftResult(handle, name, fn(...raw), spec?.result ?? "number");
}

function lowerArgument(
  handle: WasmHandle,
  name: string,
  index: number,
  value: unknown,
  kind: WasmParamKind | undefined,
): unknown {
  if (kind === undefined) {
    // No ABI: typed arrays and ArrayBuffers become arrays, the rest passes through.
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
      return copyIn(handle, name, index, bytesOf(value));
    }
    return value;
  }
  if (kind === "number") {
    if (typeof value === "number" || typeof value === "boolean") return value;
    throw argumentError(name, index, "a number", value);
  }
  if (kind === "bigint") {
    if (typeof value === "bigint") return value;
    throw argumentError(name, index, "a bigint", value);
  }
  const type = ARRAY_TYPES[kind];
  if (value instanceof type || (kind === "u8[]" && value instanceof Uint8ClampedArray)) {
    return copyIn(handle, name, index, bytesOf(value as ArrayBufferView));
  }
  if (Array.isArray(value)) {
    // deno-lint-ignore no-explicit-any
    return copyIn(handle, name, index, bytesOf((type as any).from(value)));
  }
  throw argumentError(name, index, `a ${type.name}`, value);
}

function argumentError(name: string, index: number, expected: string, value: unknown): TypeError {
  const got = value === null
    ? "null"
    : typeof value === "object"
    ? (value as object).constructor?.name ?? "an object"
    : typeof value;
  return new TypeError(
    `Argument ${index} of WASM export '${name}' must be ${expected}, got ${got}`,
  );
}

function bytesOf(value: ArrayBufferView | ArrayBuffer): Uint8Array {
  return value instanceof ArrayBuffer
    ? new Uint8Array(value)
    : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** Allocates a block in the module's memory and copies `bytes` into it: the one copy. */
function copyIn(handle: WasmHandle, name: string, index: number, bytes: Uint8Array): number {
  const alloc = handle.functions.get(ALLOC_EXPORT);
  if (alloc === undefined || handle.memory === undefined) {
    throw new TypeError(
      `Argument ${index} of WASM export '${name}' is an array, but the module exports no ${ALLOC_EXPORT} and memory: ` +
        `build it with multipool's build script to pass typed arrays`,
    );
  }
  const ptr = (alloc(bytes.byteLength) as number) >>> 0;
  // Read the buffer after allocating: growing memory replaces it.
  new Uint8Array(handle.memory.buffer, ptr, bytes.byteLength).set(bytes);
  return ptr;
}

function liftResult(
  handle: WasmHandle,
  name: string,
  value: unknown,
  kind: WasmResultKind,
): unknown {
  switch (kind) {
    case "number":
    case "bigint":
      return value;
    case "u32":
      return (value as number) >>> 0;
    case "bool":
      return value !== 0;
    case "u64":
      return BigInt.asUintN(64, value as bigint);
    case "void":
      return undefined;
  }
  const ptr = (value as number) >>> 0;
  if (ptr === 0) return null;
  const memory = handle.memory;
  if (memory === undefined) {
    throw new TypeError(`WASM export '${name}' returns an array, but the module exports no memory`);
  }
  const buffer = memory.buffer;
  const type = ARRAY_TYPES[kind];
  const byteLength = ptr >= 4 && ptr <= buffer.byteLength
    ? new DataView(buffer).getUint32(ptr - 4, true)
    : -1;
  if (
    byteLength < 0 || ptr + byteLength > buffer.byteLength ||
    byteLength % type.BYTES_PER_ELEMENT !== 0
  ) {
    throw new RangeError(
      `WASM export '${name}' returned ${ptr}, which is not a ${kind} block in its memory`,
    );
  }
  const copy = new Uint8Array(byteLength);
  copy.set(new Uint8Array(buffer, ptr, byteLength));
  return new type(copy.buffer);
}
