/**
 * Main-thread registry of WebAssembly modules. Each module is compiled once
 * (per URL, and per content hash) and gets a string key; pool workers are
 * sent the compiled `WebAssembly.Module` under that key and instantiate it
 * once each.
 *
 * Built-in modules register a lazy loader under a fixed key and compile on
 * first use: call {@linkcode ensureModule} before dispatching a task whose
 * key a worker has not been sent yet.
 *
 * @module
 */

import { importProblem } from "./_wasm_call.ts";

const modules = new Map<string, WebAssembly.Module>();
/** The bytes each module was compiled from: subprocess and remote workers get these and compile once each. */
const sources = new Map<string, Uint8Array<ArrayBuffer>>();
const pending = new Map<string, Promise<WebAssembly.Module>>();
const loaders = new Map<string, URL>();
const urlKeys = new Map<string, Promise<string>>();
let compiles = 0;

/** How many times this thread has compiled a WASM module (one per distinct module). */
export function wasmCompileCount(): number {
  return compiles;
}

/** The compiled module of `key`, or `undefined` when it is unknown or not compiled yet. */
export function compiledModule(key: string): WebAssembly.Module | undefined {
  return modules.get(key);
}

/**
 * The compiled module of `key`, which must be registered and compiled.
 *
 * @throws {Error} for a key that is unknown or whose lazy module has not been compiled yet.
 */
export function registeredModule(key: string): WebAssembly.Module {
  const module = modules.get(key);
  if (module !== undefined) return module;
  if (loaders.has(key)) {
    throw new Error(`WASM module ${key} is not compiled yet: await ensureModule("${key}") first`);
  }
  throw new Error(`Unknown WASM module key ${key}`);
}

/**
 * The bytes module `key` was compiled from (what a subprocess worker is
 * sent: a compiled module cannot leave this process).
 *
 * @throws {Error} for a key that is unknown or not compiled yet.
 */
export function moduleBytes(key: string): Uint8Array<ArrayBuffer> {
  registeredModule(key);
  return sources.get(key)!;
}

/**
 * The compiled module of `key`, compiling a lazily registered module on the
 * first call (concurrent calls share one compile). This is what the pool
 * awaits before it sends a module to a worker.
 */
export function ensureModule(key: string): Promise<WebAssembly.Module> {
  const module = modules.get(key);
  if (module !== undefined) return Promise.resolve(module);
  let promise = pending.get(key);
  if (promise === undefined) {
    const url = loaders.get(key);
    if (url === undefined) return Promise.reject(new Error(`Unknown WASM module key ${key}`));
    promise = fetchBytes(url).then((bytes) => compile(key, bytes, url.href));
    track(key, promise);
  }
  return promise;
}

/**
 * Registers a module that is fetched from `url` and compiled on the first
 * {@linkcode ensureModule}`(key)`. Registering a key again is a no-op.
 */
export function registerLazyModule(key: string, url: URL): void {
  if (!loaders.has(key)) loaders.set(key, url);
}

/**
 * Compiles the module at `url` (`file:`, `http:`, `https:`, `data:`; fetched
 * with `fetch`) or given as bytes, once, and returns its key. The same URL or
 * the same bytes always give the same key without compiling again.
 *
 * @throws {TypeError} when the module has imports (the message names them and
 * says how to build without them).
 */
export function registerModule(source: URL | BufferSource): Promise<string> {
  if (source instanceof URL) {
    let key = urlKeys.get(source.href);
    if (key === undefined) {
      key = fetchBytes(source).then((bytes) => registerBytes(bytes, source.href));
      urlKeys.set(source.href, key);
      key.catch(() => urlKeys.delete(source.href));
    }
    return key;
  }
  return registerBytes(source, "WASM module");
}

async function registerBytes(bytes: BufferSource, label: string): Promise<string> {
  const key = `sha256:${await sha256(bytes)}`;
  await addModule(key, bytes, label);
  return key;
}

function track(key: string, promise: Promise<WebAssembly.Module>): Promise<WebAssembly.Module> {
  pending.set(key, promise);
  promise.then(() => pending.delete(key), () => pending.delete(key));
  return promise;
}

async function compile(
  key: string,
  bytes: BufferSource,
  label: string,
): Promise<WebAssembly.Module> {
  const copy = ArrayBuffer.isView(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).slice()
    : new Uint8Array(bytes).slice();
  const module = await WebAssembly.compile(copy);
  compiles++;
  const problem = importProblem(module, `WASM module ${label}`);
  if (problem !== undefined) throw new TypeError(problem);
  modules.set(key, module);
  sources.set(key, copy);
  return module;
}

/**
 * Compiles `bytes` under `key` unless a module is registered under it
 * already (a remote worker registers what a caller uploaded).
 */
export function addModule(
  key: string,
  bytes: BufferSource,
  label: string = key,
): Promise<WebAssembly.Module> {
  const module = modules.get(key);
  if (module !== undefined) return Promise.resolve(module);
  return pending.get(key) ?? track(key, compile(key, bytes, label));
}

async function fetchBytes(url: URL): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot fetch WASM module ${url.href}: ${reason}`, { cause: error });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`Cannot fetch WASM module ${url.href}: HTTP ${response.status}`);
  }
  return await response.arrayBuffer();
}

/** Hex SHA-256 of `bytes`. */
export async function sha256(bytes: BufferSource): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
