// deno bench: each built-in kernel as WASM (baseline) vs its TypeScript twin,
// and SIMD sum/dot vs their scalar versions. C figures (gcc -O3, same
// algorithms, bench/native/kernels.c) come from `deno task bench:kernels`.

import {
  kernelHandle,
  marshalledWasmCall,
  rawWasmCall,
  tsCall,
  type Workload,
} from "./kernels_workloads.ts";

const handle = await kernelHandle();
/** Keeps results alive so no call is optimised away. */
export let sink: unknown;

function bench(name: string, group: string, fn: () => unknown, baseline = false): void {
  Deno.bench(name, { group, baseline }, () => {
    sink = fn();
  });
}

const CASES: Workload[] = [
  { kernel: "countPrimes", args: [0, 1e5], calls: 1, rounds: 1 },
  { kernel: "mandelbrot", args: [200, 150, 200, 0, 150], calls: 1, rounds: 1 },
  { kernel: "fnv1a32", args: [1 << 16], calls: 1, rounds: 1 },
  { kernel: "nbody", args: [10_000], calls: 1, rounds: 1 },
];

for (const w of CASES) {
  const group = w.kernel;
  bench(`${w.kernel} WASM`, group, rawWasmCall(handle, w), true);
  bench(`${w.kernel} WASM via callExport`, group, marshalledWasmCall(handle, w));
  bench(`${w.kernel} TypeScript`, group, tsCall(w));
}

for (const [simd, scalar] of [["sum", "sumScalar"], ["dot", "dotScalar"]] as const) {
  const w = (kernel: Workload["kernel"]): Workload => ({
    kernel,
    args: [4096],
    calls: 1,
    rounds: 1,
  });
  const group = `${simd} SIMD vs scalar`;
  bench(`${simd} WASM SIMD f64x2`, group, rawWasmCall(handle, w(simd)), true);
  bench(`${scalar} WASM scalar`, group, rawWasmCall(handle, w(scalar)));
  bench(`${simd} TypeScript (4 lanes)`, group, tsCall(w(simd)));
  bench(`${scalar} TypeScript`, group, tsCall(w(scalar)));
}
