/**
 * Bring your own WebAssembly: {@linkcode wasmModule} compiles a module once
 * on the main thread and returns typed task references to its exported
 * functions, usable with every Pool method.
 *
 * @module
 */

import { checkAbi, readAbiSection, type WasmAbi } from "./_wasm_call.ts";
import { registeredModule, registerModule } from "./_wasm_registry.ts";
import type { TaskRef } from "./task.ts";

export type { WasmAbi, WasmArrayKind, WasmParamKind, WasmResultKind } from "./_wasm_call.ts";

/**
 * Options of {@linkcode wasmModule}.
 *
 * @example
 * ```ts
 * import type { WasmModuleOptions } from "@multipool/multipool";
 * const options: WasmModuleOptions = {
 *   abi: { scale: { params: ["f64[]", "number"], result: "f64[]" } },
 * };
 * ```
 */
export interface WasmModuleOptions {
  /**
   * How each export takes and returns arrays, by export name. Modules built
   * with multipool's build script carry this in their `multipool.abi`
   * section, so it is only needed for other modules; entries given here win.
   * Exports without an ABI pass typed-array arguments as arrays and return
   * a number.
   */
  readonly abi?: Readonly<Record<string, WasmAbi>>;
}

/**
 * Typed task references to the exported functions of a WASM module: for
 * each function `f(...args: A): R` of `T`, a `TaskRef<A, R>`.
 *
 * @example
 * ```ts
 * import type { TaskRef, WasmModule } from "@multipool/multipool";
 * type Mine = { scale(a: Float64Array, k: number): Float64Array };
 * type Refs = WasmModule<Mine>;
 * const check: Refs["scale"] extends TaskRef<[Float64Array, number], Float64Array> ? true : false =
 *   true;
 * ```
 */
export type WasmModule<T> = {
  readonly [K in keyof T]: T[K] extends (...args: infer A) => infer R ? TaskRef<A, R> : never;
};

/**
 * The default shape of a module's exports when no type is given: any
 * function of numbers and typed arrays.
 *
 * @example
 * ```ts
 * import type { WasmExports } from "@multipool/multipool";
 * const shape: WasmExports = { add: (a: unknown, b: unknown) => Number(a) + Number(b) };
 * ```
 */
export type WasmExports = Record<string, (...args: unknown[]) => unknown>;

/**
 * Compiles a WebAssembly module once, on the main thread, and returns typed
 * task references to its exported functions. `source` is a URL (`file:`,
 * `http:` or `https:`, fetched with `fetch`), an absolute URL string, or the
 * module's bytes. Compiling the same URL or bytes again returns references
 * to the already compiled module.
 *
 * Each pool worker is sent the compiled module once and instantiates it
 * once. Arguments are numbers, bigints and typed arrays (copied into WASM
 * memory once); array results come back as fresh typed arrays. The module
 * must have no imports: build AssemblyScript with
 * `deno run -A jsr:@multipool/multipool/build-asm in.ts out.wasm`.
 *
 * @throws {TypeError} (as a rejection) when the module has imports; the
 * message names each import and how to build without it.
 *
 * @example
 * ```ts ignore
 * import { Pool, wasmModule } from "@multipool/multipool";
 * // scale.ts (AssemblyScript), built with build-asm into scale.wasm:
 * // export function scale(a: StaticArray<f64>, k: f64): StaticArray<f64> { ... }
 * const mine = await wasmModule<{ scale(a: Float64Array, k: number): Float64Array }>(
 *   new URL("./scale.wasm", import.meta.url),
 * );
 * await using pool = new Pool({ size: 2 });
 * const out = await pool.starmap(mine.scale, [[new Float64Array([1, 2]), 10]]);
 * console.log(out); // [Float64Array [10, 20]]
 * ```
 */
export async function wasmModule<T = WasmExports>(
  source: URL | string | ArrayBuffer | ArrayBufferView,
  options?: WasmModuleOptions,
): Promise<WasmModule<T>> {
  const key = await registerModule(toSource(source));
  const module = registeredModule(key);
  const abi = readAbiSection(module);
  for (const [name, entry] of Object.entries(options?.abi ?? {})) {
    abi.set(name, checkAbi(entry, `Option abi.${name}`));
  }
  const refs: Record<string, TaskRef<unknown[], unknown>> = {};
  for (const { name, kind } of WebAssembly.Module.exports(module)) {
    if (kind !== "function" || name.startsWith("__")) continue;
    const entry = abi.get(name);
    const spec = entry === undefined
      ? { kind: "wasm" as const, key, name }
      : { kind: "wasm" as const, key, name, abi: entry };
    refs[name] = Object.freeze({ spec: Object.freeze(spec) });
  }
  return Object.freeze(refs) as WasmModule<T>;
}

function toSource(source: unknown): URL | BufferSource {
  if (source instanceof URL) return source;
  if (typeof source === "string") {
    try {
      return new URL(source);
    } catch {
      throw new TypeError(
        `Argument source must be an absolute URL such as new URL("./mine.wasm", import.meta.url), got "${source}"`,
      );
    }
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return source as BufferSource;
  throw new TypeError(`Argument source must be a URL, a URL string or bytes, got ${typeof source}`);
}
