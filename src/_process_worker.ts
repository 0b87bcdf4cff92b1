/**
 * The entry of every subprocess worker (`_process_transport.ts`): reads
 * frames from stdin, runs them on the worker runtime (`_worker_runtime.ts`)
 * and writes its answers as frames to stdout. A WASM module arrives as
 * bytes and is compiled here, once. When stdin ends (the pool let go, or
 * the host is gone) the process exits, running its exit handlers.
 * `Deno.args[0]` is the worker's name.
 *
 * @module
 */

import { encodeFrame, FrameReader } from "./_frames.ts";
import type { FromWorker, ToWorker } from "./_protocol.ts";
import { startRuntime } from "./_worker_runtime.ts";
import { watchExits } from "./_worker_exits.ts";

(globalThis as { name?: string }).name = Deno.args[0] ?? "";

// Kept from the start: a task that replaces them must not cut the pool off.
const writeSync = Deno.stdout.writeSync.bind(Deno.stdout);
const read = Deno.stdin.read.bind(Deno.stdin);

function post(message: FromWorker): void {
  const frame = encodeFrame(message);
  for (let offset = 0; offset < frame.length;) offset += writeSync(frame.subarray(offset));
}

const runtime = startRuntime(post);
const exits = watchExits(post, runtime, { afterUncaught: () => Deno.exit(1) });
const handle = exits.route(runtime.handle);

/** A WASM module as it arrives: its bytes. */
interface WasmBytes {
  readonly type: "wasm";
  readonly key: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

function onFrame(frame: unknown): void {
  const message = frame as ToWorker | WasmBytes;
  if (typeof message === "object" && "bytes" in message) {
    handle({ type: "wasm", key: message.key, module: new WebAssembly.Module(message.bytes) });
  } else handle(message);
}

const frames = new FrameReader();
const buffer = new Uint8Array(1 << 16);
for (;;) {
  const n = await read(buffer);
  if (n === null) break;
  frames.push(buffer.subarray(0, n), onFrame, () => {});
}
Deno.exit();
