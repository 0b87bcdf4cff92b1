/**
 * The built-in WASM kernels: AssemblyScript compiled to WebAssembly
 * (`asm/kernels.ts`, built into `asm/build/kernels.wasm`), usable as tasks
 * with every Pool method.
 *
 * @module
 */

import type { WasmAbi } from "./_wasm_call.ts";
import { ensureModule, registerLazyModule } from "./_wasm_registry.ts";
import type { TaskRef } from "./task.ts";

/** Registry key of the built-in kernel module. */
export const KERNELS_KEY = "multipool:kernels";

/** Where the kernel module is fetched from: next to this file, so `file:`, `http:` and JSR all work. */
export const KERNELS_URL: URL = new URL("../asm/build/kernels.wasm", import.meta.url);

registerLazyModule(KERNELS_KEY, KERNELS_URL);

/**
 * Typed task references to the built-in kernels. See {@linkcode kernels}.
 *
 * @example
 * ```ts
 * import { type Kernels, kernels } from "@multipool/multipool";
 * const k: Kernels = kernels;
 * console.log(k.countPrimes.spec.kind); // "wasm"
 * ```
 */
export interface Kernels {
  /**
   * Number of primes in `[lo, hi)` (integers, `0 <= lo`, `hi <= 2^32`), by
   * trial division with a 6k±1 wheel.
   */
  readonly countPrimes: TaskRef<[lo: number, hi: number], number>;
  /**
   * Escape counts of rows `[rowStart, rowEnd)` of a `width` x `height`
   * Mandelbrot image, row-major (`width * (rowEnd - rowStart)` values).
   * Pixel `(x, y)` is `c = (-2.5 + 3.5 * (x + 0.5) / width,
   * -1.25 + 2.5 * (y + 0.5) / height)`. With `z0 = 0` and
   * `z(k+1) = z(k)^2 + c`, the count is the number of steps taken before
   * `|z|^2 > 4`, capped at `maxIter` (`0 <= maxIter <= 65535`); points of the
   * set get `maxIter`.
   */
  readonly mandelbrot: TaskRef<
    [width: number, height: number, maxIter: number, rowStart: number, rowEnd: number],
    Uint16Array
  >;
  /** Sum of the elements, SIMD (f64x2). */
  readonly sum: TaskRef<[a: Float64Array], number>;
  /** Sum of the elements with one scalar accumulator: the baseline of `sum`. */
  readonly sumScalar: TaskRef<[a: Float64Array], number>;
  /** Dot product of two arrays of equal length, SIMD (f64x2). */
  readonly dot: TaskRef<[a: Float64Array, b: Float64Array], number>;
  /** Dot product with one scalar accumulator: the baseline of `dot`. */
  readonly dotScalar: TaskRef<[a: Float64Array, b: Float64Array], number>;
  /** 32-bit FNV-1a hash of the bytes, as an unsigned number. */
  readonly fnv1a32: TaskRef<[bytes: Uint8Array], number>;
  /**
   * Total energy of the Benchmarks Game n-body system (sun and the four gas
   * giants) after `steps` steps of `dt = 0.01`; 1000 steps give
   * -0.169087605 (9 decimals).
   */
  readonly nbody: TaskRef<[steps: number], number>;
}

function kernel<A extends unknown[], R>(name: string, abi: WasmAbi): TaskRef<A, R> {
  return Object.freeze({ spec: Object.freeze({ kind: "wasm", key: KERNELS_KEY, name, abi }) });
}

const F64: WasmAbi = { params: ["f64[]"], result: "number" };
const F64_PAIR: WasmAbi = { params: ["f64[]", "f64[]"], result: "number" };

/**
 * Typed task references to the built-in WASM kernels. Invalid arguments (a
 * negative range, `maxIter > 65535`, arrays of different lengths) trap, and
 * the task fails with a `RemoteError` whose cause is a
 * `WebAssembly.RuntimeError`.
 *
 * The kernel module is compiled once, on first use, and each pool worker
 * instantiates it once.
 *
 * @example
 * ```ts
 * import { kernels, Pool } from "@multipool/multipool";
 * await using pool = new Pool({ size: 2 });
 * const counts = await pool.starmap(kernels.countPrimes, [[0, 1e5], [1e5, 2e5]]);
 * console.log(counts); // [9592, 8392]
 * const energy = await pool.apply(kernels.nbody, [1000]);
 * console.log(energy.toFixed(9)); // -0.169087605
 * ```
 */
export const kernels: Kernels = Object.freeze<Kernels>({
  countPrimes: kernel("countPrimes", { params: ["number", "number"], result: "number" }),
  mandelbrot: kernel("mandelbrot", {
    params: ["number", "number", "number", "number", "number"],
    result: "u16[]",
  }),
  sum: kernel("sum", F64),
  sumScalar: kernel("sumScalar", F64),
  dot: kernel("dot", F64_PAIR),
  dotScalar: kernel("dotScalar", F64_PAIR),
  fnv1a32: kernel("fnv1a32", { params: ["u8[]"], result: "u32" }),
  nbody: kernel("nbody", { params: ["number"], result: "number" }),
});

/**
 * Compiles the kernel module (once; later calls return the same module).
 * The pool does this itself before it first dispatches a kernel; call it to
 * pay the compile cost up front or to check that the module loads.
 *
 * @example
 * ```ts
 * import { compileKernels } from "@multipool/multipool";
 * const module = await compileKernels();
 * console.log(WebAssembly.Module.imports(module).length); // 0
 * ```
 */
export function compileKernels(): Promise<WebAssembly.Module> {
  return ensureModule(KERNELS_KEY);
}
