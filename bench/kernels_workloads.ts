/**
 * Workloads shared by the kernel benchmarks (kernels_bench.ts) and the
 * comparison table (kernels_compare.ts): the same inputs for the WASM
 * kernels, their TypeScript twins and the C twins in bench/native/.
 *
 * @module
 */

import * as ts from "./kernels_ts.ts";
import { ALLOC_EXPORT, callExport, instantiate, type WasmHandle } from "../src/_wasm_call.ts";
import { kernels } from "../src/kernels.ts";

/** A kernel name, as exported by the module and by `kernels`. */
export type KernelName = keyof typeof kernels;

/** One benchmark case: `args` are numbers (array kernels: the length). */
export interface Workload {
  readonly kernel: KernelName;
  readonly args: readonly number[];
  /** Calls per timed round, and rounds (the best round counts). */
  readonly calls: number;
  readonly rounds: number;
}

/** The comparison workloads. */
export const WORKLOADS: readonly Workload[] = [
  { kernel: "countPrimes", args: [0, 1e6], calls: 1, rounds: 10 },
  { kernel: "mandelbrot", args: [400, 300, 500, 0, 300], calls: 1, rounds: 10 },
  { kernel: "fnv1a32", args: [1 << 20], calls: 10, rounds: 10 },
  { kernel: "nbody", args: [100_000], calls: 1, rounds: 10 },
  { kernel: "sum", args: [1 << 14], calls: 2000, rounds: 10 },
  { kernel: "sumScalar", args: [1 << 14], calls: 2000, rounds: 10 },
  { kernel: "dot", args: [1 << 14], calls: 1000, rounds: 10 },
  { kernel: "dotScalar", args: [1 << 14], calls: 1000, rounds: 10 },
];

/** Deterministic f64 input (the C harness fills the same values). */
export function fillF64(n: number, salt: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => ((i * 7919 + salt) % 1000) / 1000 - 0.5);
}

/** Deterministic byte input (the C harness fills the same values). */
export function fillBytes(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
}

/** A result as one number: mandelbrot's image becomes the sum of its counts. */
export function checksum(value: unknown): number {
  if (value instanceof Uint16Array) return value.reduce((s, v) => s + v, 0);
  return value as number;
}

/** The typed-array inputs of a workload, in argument order. */
export function inputs(w: Workload): unknown[] {
  switch (w.kernel) {
    case "sum":
    case "sumScalar":
      return [fillF64(w.args[0], 1)];
    case "dot":
    case "dotScalar":
      return [fillF64(w.args[0], 1), fillF64(w.args[0], 2)];
    case "fnv1a32":
      return [fillBytes(w.args[0])];
    default:
      return [...w.args];
  }
}

/** Loads and instantiates the committed kernel module. */
export async function kernelHandle(): Promise<WasmHandle> {
  const bytes = await Deno.readFile(new URL("../asm/build/kernels.wasm", import.meta.url));
  return instantiate(new WebAssembly.Module(bytes));
}

/**
 * A zero-argument call of the raw WASM export, with array inputs already
 * resident in WASM memory (so only the kernel is timed, as in C).
 */
export function rawWasmCall(h: WasmHandle, w: Workload): () => unknown {
  const fn = h.functions.get(w.kernel)!;
  const alloc = h.functions.get(ALLOC_EXPORT)!;
  const args = inputs(w).map((value) => {
    if (!ArrayBuffer.isView(value)) return value;
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    const ptr = (alloc(bytes.length) as number) >>> 0;
    new Uint8Array(h.memory!.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  });
  if (w.kernel === "mandelbrot") {
    // The export allocates its output; reset between calls, as callExport does.
    const reset = h.functions.get("__mp_reset")!;
    return () => {
      reset();
      return fn(...args);
    };
  }
  return () => fn(...args);
}

/** A zero-argument call through callExport (copies arrays in and results out). */
export function marshalledWasmCall(h: WasmHandle, w: Workload): () => unknown {
  const spec = kernels[w.kernel].spec;
  const abi = spec.kind === "wasm" ? spec.abi : undefined;
  const args = inputs(w);
  return () => callExport(h, w.kernel, args, abi);
}

/** A zero-argument call of the TypeScript twin. */
export function tsCall(w: Workload): () => unknown {
  const args = inputs(w) as never[];
  const fn = ts[w.kernel] as (...args: never[]) => unknown;
  return () => fn(...args);
}

/**
 * Best time per call in nanoseconds over `rounds` rounds of `calls` calls,
 * after warming up for at least three rounds and 200 ms (so that V8 has
 * tiered the code up to its optimizing compiler).
 */
export function measure(fn: () => unknown, w: Workload): { ns: number; result: unknown } {
  let result: unknown;
  const warmUntil = performance.now() + 200;
  for (let r = 0; r < 3 || performance.now() < warmUntil; r++) {
    for (let c = 0; c < w.calls; c++) result = fn();
  }
  let best = Infinity;
  for (let r = 0; r < w.rounds; r++) {
    const t0 = performance.now();
    for (let c = 0; c < w.calls; c++) result = fn();
    best = Math.min(best, ((performance.now() - t0) * 1e6) / w.calls);
  }
  return { ns: best, result };
}
