/**
 * multipool: Python's `multiprocessing.Pool` for Deno, on Web Workers, with
 * hot kernels in AssemblyScript compiled to WebAssembly.
 *
 * ```ts
 * import { kernels, Pool } from "@multipool/multipool";
 * await using pool = new Pool({ size: 2 });
 * console.log(await pool.starmap(kernels.countPrimes, [[0, 1e5], [1e5, 2e5]])); // [9592, 8392]
 * ```
 *
 * @module
 */

export { compileKernels, type Kernels, kernels } from "./src/kernels.ts";
export {
  type WasmAbi,
  type WasmArrayKind,
  type WasmExports,
  type WasmModule,
  wasmModule,
  type WasmModuleOptions,
  type WasmParamKind,
  type WasmResultKind,
} from "./src/wasm.ts";
