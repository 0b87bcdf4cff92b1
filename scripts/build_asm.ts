/**
 * Builds AssemblyScript into a WebAssembly module that multipool can run in
 * its workers: optimized (`-O3`), SIMD enabled, stub runtime, `abort` routed
 * to a trap, so the module has no imports and loads anywhere. The module
 * also gets the two exports multipool uses to pass typed arrays
 * (`__mp_alloc`, `__mp_reset`) and a `multipool.abi` custom section telling
 * which parameters and results are arrays. The compiler is
 * `npm:assemblyscript@0.28.20`, pinned, so builds are byte-for-byte
 * reproducible.
 *
 * Command line (from JSR, or `deno task build:asm` in this repository to
 * rebuild the built-in kernels):
 *
 * ```sh
 * deno run -A jsr:@multipool/multipool/build-asm in.ts out.wasm
 * deno run -A jsr:@multipool/multipool/build-asm in.ts out.wasm -- --noAssert
 * ```
 *
 * Exported functions take and return numbers (`i32`, `u32`, `f32`, `f64`,
 * `bool`, ...), bigints (`i64`, `u64`) and arrays declared as
 * `StaticArray<T>` (`T` a number type) or `ArrayBuffer`:
 *
 * ```ts ignore
 * // scale.ts (AssemblyScript)
 * export function scale(a: StaticArray<f64>, k: f64): StaticArray<f64> {
 *   const out = new StaticArray<f64>(a.length);
 *   for (let i = 0; i < a.length; i++) out[i] = a[i] * k;
 *   return out;
 * }
 * ```
 *
 * @module
 */

import asc from "npm:assemblyscript@0.28.20/asc";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ABI_SECTION,
  ALLOC_EXPORT,
  ARRAY_TYPES,
  importProblem,
  RESET_EXPORT,
  type WasmAbi,
  type WasmParamKind,
  type WasmResultKind,
} from "../src/_wasm_call.ts";

/** The pinned AssemblyScript compiler version. */
export const ASC_VERSION = "0.28.20";

/** Options of {@linkcode compileAsm} and {@linkcode buildAsm}. */
export interface BuildOptions {
  /**
   * Extra `asc` command-line options, e.g. `["--noAssert"]`. They override
   * the defaults; a build that ends up with imports is still rejected.
   */
  readonly ascArgs?: readonly string[];
}

/** A compiled module. */
export interface BuildResult {
  /** The `.wasm` bytes, ABI section included. */
  readonly binary: Uint8Array<ArrayBuffer>;
  /** The ABI of each exported function, as recorded in the module. */
  readonly abi: Readonly<Record<string, WasmAbi>>;
  /** Compiler warnings, empty when there were none. */
  readonly warnings: string;
}

/** A built-in kernel module of this package: its source and committed build output. */
export interface KernelBuild {
  /** The AssemblyScript entry file. */
  readonly source: URL;
  /** Where the `.wasm` is committed. */
  readonly output: URL;
}

const CONFIG_URL = new URL("../asm/kernels.asconfig.json", import.meta.url);
const CONFIG_FILE = "__multipool.asconfig.json";
const ABI_FILE = "__multipool_abi.ts";
const ABI_SOURCE = `// Added by multipool's build script: array blocks for arguments.
export function ${ALLOC_EXPORT}(bytes: usize): usize {
  return __new(bytes, idof<ArrayBuffer>());
}
export function ${RESET_EXPORT}(): void {
  __reset();
}
`;

/**
 * The built-in kernel modules of this package (AssemblyScript source and
 * committed output), resolved next to this script.
 *
 * @example
 * ```ts ignore
 * import { kernelBuilds } from "./build_asm.ts";
 * for (const k of kernelBuilds()) console.log(k.source.pathname, k.output.pathname);
 * ```
 */
export function kernelBuilds(): KernelBuild[] {
  return [{
    source: new URL("../asm/kernels.ts", import.meta.url),
    output: new URL("../asm/build/kernels.wasm", import.meta.url),
  }];
}

/**
 * Compiles the AssemblyScript file `input` (a path or `file:` URL) and
 * returns the module bytes without writing them.
 *
 * @example
 * ```ts ignore
 * import { compileAsm } from "jsr:@multipool/multipool/build-asm";
 * const { binary, abi } = await compileAsm("scale.ts");
 * console.log(binary.length, abi.scale); // { params: ["f64[]", "number"], result: "f64[]" }
 * ```
 */
export async function compileAsm(
  input: string | URL,
  options?: BuildOptions,
): Promise<BuildResult> {
  const path = toPath(input, "input");
  const baseDir = dirname(path);
  const entry = basename(path);
  const config = await (await fetch(CONFIG_URL)).text();
  let source: string | null = null;
  let binary: Uint8Array | null = null;
  const stderr = asc.createMemoryStream();
  const result = await asc.main([
    entry,
    ABI_FILE,
    "--baseDir",
    baseDir,
    "--config",
    CONFIG_FILE,
    "--outFile",
    "out.wasm",
    "--noColors",
    ...(options?.ascArgs ?? []),
  ], {
    stdout: asc.createMemoryStream(),
    stderr,
    readFile: async (name, dir) => {
      if (name === CONFIG_FILE) return config;
      if (name === ABI_FILE) return ABI_SOURCE;
      const text = await readText(resolve(dir, name));
      if (resolve(dir, name) === path) source = text;
      return text;
    },
    writeFile: (name, contents) => {
      if (name === "out.wasm" && typeof contents !== "string") binary = contents;
    },
    listFiles: () => [],
  });
  const messages = stderr.toString();
  if (result.error !== null || binary === null) {
    const reason = result.error?.message ?? "no output";
    throw new Error(`AssemblyScript build of ${path} failed (${reason}):\n${messages}`);
  }
  if (source === null) throw new Error(`Cannot read AssemblyScript source ${path}`);
  const abi = abiOfSource(source, path);
  const output = appendCustomSection(
    binary,
    ABI_SECTION,
    new TextEncoder().encode(JSON.stringify({ version: 1, exports: abi })),
  );
  const problem = importProblem(new WebAssembly.Module(output), `Build of ${path}`);
  if (problem !== undefined) throw new Error(problem);
  return { binary: output, abi, warnings: messages };
}

/**
 * Compiles `input` (see {@linkcode compileAsm}) and writes the module to
 * `output`, creating its directory.
 *
 * @example
 * ```ts ignore
 * import { buildAsm } from "jsr:@multipool/multipool/build-asm";
 * await buildAsm("scale.ts", "scale.wasm");
 * ```
 */
export async function buildAsm(
  input: string | URL,
  output: string | URL,
  options?: BuildOptions,
): Promise<BuildResult> {
  const result = await compileAsm(input, options);
  const out = toPath(output, "output");
  await Deno.mkdir(dirname(out), { recursive: true });
  await Deno.writeFile(out, result.binary);
  return result;
}

function toPath(value: string | URL, name: string): string {
  if (value instanceof URL) {
    if (value.protocol !== "file:") {
      throw new TypeError(`Argument ${name} must be a file path or file: URL, got ${value.href}`);
    }
    return fileURLToPath(value);
  }
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`Argument ${name} must be a file path or file: URL`);
  }
  return resolve(value);
}

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.IsADirectory) {
      return null;
    }
    throw error;
  }
}

const NUMBER_TYPES: ReadonlySet<string> = new Set([
  "i8",
  "u8",
  "i16",
  "u16",
  "i32",
  "u32",
  "f32",
  "f64",
  "isize",
  "usize",
  "bool",
]);

function arrayKind(type: string): WasmParamKind | undefined {
  if (type === "ArrayBuffer") return "u8[]";
  const match = /^StaticArray\s*<\s*(\w+)\s*>$/.exec(type);
  const kind = match === null ? "" : `${match[1]}[]`;
  return kind in ARRAY_TYPES ? kind as WasmParamKind : undefined;
}

function paramKind(type: string): WasmParamKind | undefined {
  if (NUMBER_TYPES.has(type)) return "number";
  if (type === "i64" || type === "u64") return "bigint";
  return arrayKind(type);
}

function resultKind(type: string): WasmResultKind | undefined {
  switch (type) {
    case "void":
    case "bool":
    case "u32":
    case "u64":
      return type;
    case "usize":
      return "u32";
    case "i64":
      return "bigint";
  }
  return paramKind(type);
}

/**
 * Reads the signatures of the `export function` declarations in an
 * AssemblyScript source and maps them to {@linkcode WasmAbi}s.
 *
 * @throws {Error} for a parameter or result type that cannot cross into a
 * worker (strings, objects, typed arrays other than `StaticArray<T>`).
 */
export function abiOfSource(source: string, path = "source"): Record<string, WasmAbi> {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");
  const abi: Record<string, WasmAbi> = {};
  const problems: string[] = [];
  const pattern = /export\s+function\s+([A-Za-z_$][\w$]*)\s*\(([^)]*)\)\s*(?::\s*([^{]+?))?\s*\{/g;
  for (const [, name, paramText, resultText] of code.matchAll(pattern)) {
    const params: WasmParamKind[] = [];
    for (const param of paramText.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
      const type = param.replace(/=[\s\S]*$/, "").split(":")[1]?.trim() ?? "";
      const kind = paramKind(type);
      if (kind === undefined) problems.push(`${name}: parameter "${param}"`);
      else params.push(kind);
    }
    const type = resultText?.trim() ?? "void";
    const result = resultKind(type.replace(/\s*\|\s*null$/, ""));
    if (result === undefined) problems.push(`${name}: result type ${type}`);
    else abi[name] = { params, result };
  }
  if (problems.length > 0) {
    throw new Error(
      `Exports of ${path} use types that cannot be passed to or from a worker (${
        problems.join("; ")
      }): use number types, i64/u64, or StaticArray<T> and ArrayBuffer for arrays`,
    );
  }
  return abi;
}

function leb128(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

/** Appends a custom section (id 0) named `name` holding `data` to a module. */
function appendCustomSection(
  binary: Uint8Array,
  name: string,
  data: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const nameBytes = new TextEncoder().encode(name);
  const payload = [...leb128(nameBytes.length), ...nameBytes, ...data];
  const section = new Uint8Array([0, ...leb128(payload.length), ...payload]);
  const out = new Uint8Array(binary.length + section.length);
  out.set(binary);
  out.set(section, binary.length);
  return out;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

const USAGE = `Usage: build_asm.ts [input.ts output.wasm] [-- asc options]
  With no files, rebuilds this package's built-in kernels (asm/*.ts -> asm/build/*.wasm).`;

async function main(args: string[]): Promise<number> {
  const split = args.indexOf("--");
  const files = split < 0 ? args : args.slice(0, split);
  const ascArgs = split < 0 ? [] : args.slice(split + 1);
  if (files.includes("-h") || files.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  let jobs: { source: string | URL; output: string | URL }[];
  if (files.length === 2) {
    jobs = [{ source: files[0], output: files[1] }];
  } else if (files.length === 0 && import.meta.url.startsWith("file:")) {
    jobs = kernelBuilds();
  } else {
    console.error(USAGE);
    return 2;
  }
  for (const job of jobs) {
    try {
      const result = await buildAsm(job.source, job.output, { ascArgs });
      if (result.warnings !== "") console.error(result.warnings);
      const digest = (await sha256(result.binary)).slice(0, 16);
      console.log(
        `Built ${
          toPath(job.output, "output")
        } (${result.binary.length} bytes, sha256 ${digest}…; exports ${
          Object.keys(result.abi).join(", ")
        })`,
      );
    } catch (error) {
      console.error(error instanceof Error ? error.message : error);
      return 1;
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
