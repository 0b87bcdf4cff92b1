// The built-in WASM kernels against their TypeScript twins, called through
// the worker-side marshalling (instantiate/callExport) without a pool; plus
// the build script, the registry and wasmModule().

import assert from "node:assert/strict";
import { random } from "./_random.ts";
import * as ts from "../bench/kernels_ts.ts";
import { abiOfSource } from "../scripts/build_asm.ts";
import {
  callExport,
  instantiate,
  readAbiSection,
  type WasmAbi,
  type WasmHandle,
} from "../src/_wasm_call.ts";
import { registeredModule, wasmCompileCount } from "../src/_wasm_registry.ts";
import { compileKernels, kernels, KERNELS_KEY } from "../src/kernels.ts";
import { wasmModule } from "../src/wasm.ts";

const SEED = Number(Deno.env.get("MULTIPOOL_SEED") ?? 20240611);

function int(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

function f64s(rand: () => number, n: number): Float64Array {
  // Mixed magnitudes, so that a different summation order changes the result.
  return Float64Array.from({ length: n }, () => (rand() - 0.5) * 2 ** int(rand, -30, 30));
}

let cached: WasmHandle | undefined;
async function handle(): Promise<WasmHandle> {
  cached ??= instantiate(await compileKernels());
  return cached;
}

function call(h: WasmHandle, name: keyof typeof kernels, args: unknown[]): unknown {
  const spec = kernels[name].spec;
  assert.equal(spec.kind, "wasm");
  return callExport(h, name, args, spec.kind === "wasm" ? spec.abi : undefined);
}

Deno.test("kernel module has no imports and its ABI section matches the kernel refs", async () => {
  const module = await compileKernels();
  assert.equal(WebAssembly.Module.imports(module).length, 0);
  assert.equal(registeredModule(KERNELS_KEY), module);
  const section = readAbiSection(module);
  for (const [name, ref] of Object.entries(kernels)) {
    assert.equal(ref.spec.kind, "wasm");
    const abi = (ref.spec as { abi?: WasmAbi }).abi;
    assert.deepEqual(section.get(name), abi, `ABI of ${name}`);
  }
});

Deno.test("countPrimes matches the TypeScript reference", async () => {
  const h = await handle();
  assert.equal(call(h, "countPrimes", [0, 1e5]), 9592);
  for (
    const [lo, hi] of [[0, 0], [0, 1], [0, 2], [0, 3], [2, 3], [5, 5], [4294967290, 4294967296]]
  ) {
    assert.equal(call(h, "countPrimes", [lo, hi]), ts.countPrimes(lo, hi), `[${lo}, ${hi})`);
  }
  const rand = random(SEED);
  for (let i = 0; i < 40; i++) {
    const lo = int(rand, 0, 5e7);
    const hi = lo + int(rand, 0, 3000);
    assert.equal(
      call(h, "countPrimes", [lo, hi]),
      ts.countPrimes(lo, hi),
      `[${lo}, ${hi}) seed ${SEED}`,
    );
  }
});

Deno.test("mandelbrot matches the TypeScript reference", async () => {
  const h = await handle();
  const rand = random(SEED + 1);
  for (let i = 0; i < 30; i++) {
    const width = int(rand, 0, 60);
    const height = int(rand, 1, 60);
    const maxIter = int(rand, 0, 400);
    const rowStart = int(rand, 0, height);
    const rowEnd = int(rand, rowStart, height);
    const args = [width, height, maxIter, rowStart, rowEnd] as const;
    const got = call(h, "mandelbrot", [...args]);
    assert.ok(got instanceof Uint16Array);
    assert.equal(got.length, width * (rowEnd - rowStart));
    assert.deepEqual(got, ts.mandelbrot(...args), `mandelbrot(${args}) seed ${SEED}`);
  }
  // The centre of the main cardioid never escapes; the far corner escapes after one step.
  assert.deepEqual(call(h, "mandelbrot", [7, 1, 1000, 0, 1]), ts.mandelbrot(7, 1, 1000, 0, 1));
  const full = call(h, "mandelbrot", [64, 64, 65535, 32, 33]) as Uint16Array;
  assert.equal(Math.max(...full), 65535);
});

Deno.test("sum, dot and their scalar versions match the TypeScript reference bit for bit", async () => {
  const h = await handle();
  const rand = random(SEED + 2);
  for (let i = 0; i < 40; i++) {
    const n = i < 20 ? i : int(rand, 0, 5000);
    const a = f64s(rand, n);
    const b = f64s(rand, n);
    const where = `n=${n} seed ${SEED}`;
    assert.equal(call(h, "sum", [a]), ts.sum(a), `sum ${where}`);
    assert.equal(call(h, "sumScalar", [a]), ts.sumScalar(a), `sumScalar ${where}`);
    assert.equal(call(h, "dot", [a, b]), ts.dot(a, b), `dot ${where}`);
    assert.equal(call(h, "dotScalar", [a, b]), ts.dotScalar(a, b), `dotScalar ${where}`);
  }
  // A view into a larger buffer passes only its own elements.
  const big = Float64Array.from({ length: 10 }, (_, i) => i);
  assert.equal(call(h, "sum", [big.subarray(2, 7)]), 2 + 3 + 4 + 5 + 6);
});

Deno.test("fnv1a32 matches known vectors and the TypeScript reference", async () => {
  const h = await handle();
  const text = new TextEncoder();
  assert.equal(call(h, "fnv1a32", [new Uint8Array()]), 0x811c9dc5);
  assert.equal(call(h, "fnv1a32", [text.encode("a")]), 0xe40c292c);
  assert.equal(call(h, "fnv1a32", [text.encode("foobar")]), 0xbf9cf968);
  const rand = random(SEED + 3);
  for (let i = 0; i < 30; i++) {
    const bytes = Uint8Array.from({ length: int(rand, 0, 500) }, () => int(rand, 0, 255));
    assert.equal(call(h, "fnv1a32", [bytes]), ts.fnv1a32(bytes), `seed ${SEED}`);
  }
});

Deno.test("nbody gives the Benchmarks Game energies and matches the TypeScript reference", async () => {
  const h = await handle();
  assert.equal((call(h, "nbody", [0]) as number).toFixed(9), "-0.169075164");
  assert.equal((call(h, "nbody", [1000]) as number).toFixed(9), "-0.169087605");
  const rand = random(SEED + 4);
  for (let i = 0; i < 5; i++) {
    const steps = int(rand, 0, 3000);
    assert.equal(call(h, "nbody", [steps]), ts.nbody(steps), `steps=${steps} seed ${SEED}`);
  }
});

Deno.test("a trap throws a RuntimeError and the instance keeps working", async () => {
  const h = await handle();
  assert.throws(() => call(h, "mandelbrot", [4, 4, 70000, 0, 4]), WebAssembly.RuntimeError);
  assert.throws(
    () => call(h, "dot", [new Float64Array(3), new Float64Array(4)]),
    WebAssembly.RuntimeError,
  );
  assert.throws(() => call(h, "countPrimes", [-1, 10]), WebAssembly.RuntimeError);
  assert.equal(call(h, "countPrimes", [0, 100]), 25);
  assert.equal(call(h, "sum", [new Float64Array([1, 2, 3])]), 6);
});

Deno.test("arguments that do not fit the ABI are TypeErrors naming the export", async () => {
  const h = await handle();
  assert.throws(() => call(h, "countPrimes", [0]), /'countPrimes' takes 2 argument\(s\), got 1/);
  assert.throws(
    () => call(h, "sum", [new Float32Array(2)]),
    /must be a Float64Array, got Float32Array/,
  );
  assert.throws(() => call(h, "countPrimes", ["0", 10]), /must be a number, got string/);
  assert.throws(() => callExport(h, "nope", [], undefined), /no exported function 'nope'/);
  // A plain array is converted to the declared element type.
  assert.equal(call(h, "sum", [[1, 2, 3.5]]), 6.5);
});

Deno.test("memory does not grow across calls", async () => {
  const h = await handle();
  const a = new Float64Array(1 << 17); // 1 MiB
  const round = () => {
    call(h, "sum", [a]);
    call(h, "dot", [a, a]);
    call(h, "mandelbrot", [256, 256, 1, 0, 256]);
  };
  round();
  const size = h.memory!.buffer.byteLength;
  assert.ok(size >= 2 << 20, "dot copied both arrays in");
  for (let i = 0; i < 50; i++) round();
  assert.equal(h.memory!.buffer.byteLength, size);
});

// A module importing env.abort: (import "env" "abort" (func)).
const WITH_IMPORT = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // magic, version
  0x01,
  0x04,
  0x01,
  0x60,
  0x00,
  0x00, // type section: () -> ()
  0x02,
  0x0d,
  0x01,
  0x03,
  0x65,
  0x6e,
  0x76,
  0x05,
  0x61,
  0x62,
  0x6f,
  0x72,
  0x74,
  0x00,
  0x00,
]);

Deno.test("wasmModule rejects a module with imports, naming the import and the fix", async () => {
  await assert.rejects(wasmModule(WITH_IMPORT), (error: Error) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /imports env\.abort \(function\)/);
    assert.match(error.message, /build-asm/);
    assert.match(error.message, /--runtime stub --use abort=/);
    return true;
  });
  assert.throws(() => instantiate(new WebAssembly.Module(WITH_IMPORT)), /env\.abort/);
  await assert.rejects(wasmModule("mine.wasm"), /absolute URL/);
});

Deno.test("wasmModule compiles the same module once and returns refs with ABI", async () => {
  const bytes = await Deno.readFile(new URL("../asm/build/kernels.wasm", import.meta.url));
  const before = wasmCompileCount();
  const mine = await wasmModule<{ sum(a: Float64Array): number }>(bytes);
  const again = await wasmModule(bytes.slice());
  assert.equal(wasmCompileCount(), before + 1);
  assert.equal(mine.sum.spec.kind, "wasm");
  assert.deepEqual(mine.sum.spec, again.sum.spec);
  assert.deepEqual((mine.sum.spec as { abi?: WasmAbi }).abi, {
    params: ["f64[]"],
    result: "number",
  });
  assert.ok(!("__mp_alloc" in again), "internal exports are not tasks");
  const key = (mine.sum.spec as { key: string }).key;
  const h = instantiate(registeredModule(key));
  assert.equal(callExport(h, "sum", [new Float64Array([1, 2])], undefined), 3);
});

Deno.test("abiOfSource maps AssemblyScript signatures and rejects types that cannot cross", () => {
  const abi = abiOfSource(`
    // export function commented(a: string): void {}
    export function scale(a: StaticArray<f64>, k: f64): StaticArray<f64> { return a; }
    export function count(n: i32, big: u64 = 1): u32 { return 0; }
    export function raw(b: ArrayBuffer): void {}
    function hidden(s: string): string { return s; }
  `);
  assert.deepEqual(abi, {
    scale: { params: ["f64[]", "number"], result: "f64[]" },
    count: { params: ["number", "bigint"], result: "u32" },
    raw: { params: ["u8[]"], result: "void" },
  });
  assert.throws(
    () => abiOfSource("export function f(a: Float64Array): string { return ''; }", "f.ts"),
    /Exports of f\.ts .*f: parameter "a: Float64Array"; f: result type string.*StaticArray<T>/,
  );
});

Deno.test("bring your own: build an AssemblyScript file with the build script, then call it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "multipool_byo_" });
  try {
    await Deno.writeTextFile(
      `${dir}/scale.ts`,
      `export function scale(a: StaticArray<f64>, k: f64): StaticArray<f64> {
  const out = new StaticArray<f64>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] * k;
  return out;
}
export function add(a: i32, b: i32): i32 { return a + b; }
export function at(a: StaticArray<i32>, i: i32): i32 { return a[i]; }
`,
    );
    const script = new URL("../scripts/build_asm.ts", import.meta.url);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script.href, `${dir}/scale.ts`, `${dir}/out/scale.wasm`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, output);
    assert.match(output, /Built .*scale\.wasm/);
    const mine = await wasmModule<{
      scale(a: Float64Array, k: number): Float64Array;
      add(a: number, b: number): number;
      at(a: Int32Array, i: number): number;
    }>(new URL(`file://${dir}/out/scale.wasm`));
    assert.deepEqual(Object.keys(mine).sort(), ["add", "at", "scale"]);
    const key = (mine.scale.spec as { key: string }).key;
    const module = registeredModule(key);
    assert.equal(WebAssembly.Module.imports(module).length, 0);
    const h = instantiate(module);
    const abi = (name: keyof typeof mine) => (mine[name].spec as { abi?: WasmAbi }).abi;
    assert.deepEqual(
      callExport(h, "scale", [new Float64Array([1, 2, 3]), 10], abi("scale")),
      new Float64Array([10, 20, 30]),
    );
    assert.equal(callExport(h, "add", [2, 3], abi("add")), 5);
    // Bounds-checked StaticArray access traps (abort is routed to unreachable).
    assert.throws(
      () => callExport(h, "at", [new Int32Array(2), 5], abi("at")),
      WebAssembly.RuntimeError,
    );
    assert.equal(callExport(h, "at", [new Int32Array([7, 8]), 1], abi("at")), 8);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the committed kernel module is part of the published package", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const path = "asm/build/kernels.wasm";
  const covers = (patterns: string[] | undefined) =>
    (patterns ?? []).some((p) => path.startsWith(p.replace(/^\.\//, "")));
  assert.ok(covers(config.publish?.include), "publish.include must cover asm/build/");
  assert.ok(!covers(config.exclude), "the top-level exclude also applies to deno publish");
  assert.ok(!covers(config.publish?.exclude), "publish.exclude must not cover asm/build/");
});
