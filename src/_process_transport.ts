/**
 * The process transport: one `deno` subprocess (`Deno.execPath()`)
 * running `_process_worker.ts`, speaking the chunk protocol in frames
 * (`_frames.ts`) over its stdin and stdout. Its permissions are `deno run`
 * flags (`_process_flags.ts`), its heap limit `--max-old-space-size`, and
 * killing it really stops it, a spinning loop included. Its stdout (text
 * around the frames) and stderr reach the host's in whole lines
 * (`_output_lines.ts`). A compiled WASM module cannot leave this process:
 * the worker is sent the module's bytes and compiles them once. The child
 * is unref'd, and put on the reaper's list (`_reaper.ts`) so that it never
 * outlives the host.
 *
 * @module
 */

import { weakClock } from "./_clock.ts";
import { encodeFrame, FrameReader, join } from "./_frames.ts";
import { LineRelay } from "./_output_lines.ts";
import { permissionFlags } from "./_process_flags.ts";
import { controlOf, type FromWorker, type ToWorker } from "./_protocol.ts";
import { unwatchPid, watchPid } from "./_reaper.ts";
import {
  countWorker,
  type ExitStatus,
  type Transport,
  type TransportEvents,
  type TransportFactory,
  type TransportOptions,
} from "./_transport.ts";
import { moduleBytes } from "./_wasm_registry.ts";
import { WorkerCrashedError } from "./errors.ts";

const entry = new URL("./_process_worker.ts", import.meta.url);

/** How long a process may take to end after SIGTERM before it is killed (ms). */
const TERM_GRACE_MS = 1000;
/** How much of a worker's stderr is kept to explain its end (characters). */
const TAIL_CHARS = 4096;

/** Settings of {@linkcode processTransport}. */
export interface ProcessTransportSettings {
  /** Heap limit of each process (old space, MB); default V8's. */
  readonly maxHeapMb?: number | undefined;
}

/**
 * A factory of subprocess workers with `settings`; see the module doc.
 *
 * @throws {Deno.errors.NotCapable} when the host may not run `deno` (no `--allow-run`).
 */
export function processTransport(settings: ProcessTransportSettings = {}): TransportFactory {
  const execPath = Deno.execPath();
  if (Deno.permissions.querySync({ name: "run", command: execPath }).state !== "granted") {
    throw new Deno.errors.NotCapable(
      `The process backend starts \`deno\` subprocesses: run the host with --allow-run ` +
        `(or --allow-run=${execPath})`,
    );
  }
  return (events, options) => startProcess(execPath, settings, events, options);
}

function startProcess(
  execPath: string,
  settings: ProcessTransportSettings,
  events: TransportEvents,
  options: TransportOptions,
): Transport {
  const heap = settings.maxHeapMb === undefined
    ? []
    : [`--v8-flags=--max-old-space-size=${settings.maxHeapMb}`];
  const child = new Deno.Command(execPath, {
    args: [
      "run",
      "--quiet",
      ...permissionFlags(options.permissions),
      ...heap,
      entry.href,
      options.name,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  child.unref();
  countWorker(1);
  watchPid(child.pid);
  const writer = child.stdin.getWriter();
  let alive = true;
  let queued: Uint8Array[] = [];
  let tail = "";

  const stdout = new LineRelay(Deno.stdout);
  const stderr = new LineRelay(Deno.stderr);
  const frames = new FrameReader();
  const decoder = new TextDecoder();
  const onFrame = (message: unknown) => {
    if (alive) events.message(message as FromWorker);
  };
  const onText = (bytes: Uint8Array) => stdout.push(bytes);
  const stdoutDone = drain(child.stdout, (chunk) => frames.push(chunk, onFrame, onText));
  const stderrDone = drain(child.stderr, (chunk) => {
    stderr.push(chunk);
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-TAIL_CHARS);
  });

  const closed = Promise.all([child.status, stdoutDone, stderrDone]).then(async ([status]) => {
    stdout.end();
    stderr.end();
    writer.abort().catch(() => {});
    await unwatchPid(child.pid);
    if (!alive) return;
    alive = false;
    countWorker(-1);
    const exit = exitStatus(status);
    events.exit(crashError(exit, tail, settings.maxHeapMb), exit);
  });

  const flush = () => {
    const frames = queued;
    queued = [];
    if (!alive || frames.length === 0) return;
    writer.write(frames.length === 1 ? frames[0] : join(frames)).catch(() => {});
  };

  return {
    post(message: ToWorker): void {
      const frame = encodeFrame(portable(message));
      if (!alive) return;
      if (queued.push(frame) === 1) queueMicrotask(flush);
    },
    terminate(signal = "SIGKILL"): void {
      if (!alive) return;
      alive = false;
      countWorker(-1);
      kill(child, signal);
      if (signal !== "SIGKILL") {
        const timer = weakClock.setTimeout(() => kill(child, "SIGKILL"), TERM_GRACE_MS);
        closed.then(() => weakClock.clearTimeout(timer));
      }
    },
    closed,
    pid: child.pid,
  };
}

/** A message as it can leave this process: a WASM module travels as its bytes. */
function portable(message: ToWorker): unknown {
  const control = controlOf(message);
  if (control?.type === "wasm") {
    return { type: "wasm", key: control.key, bytes: moduleBytes(control.key) };
  }
  return message;
}

async function drain(
  stream: ReadableStream<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void,
): Promise<void> {
  // A reader of its own, read in a loop: cheaper per chunk than the stream's async iterator.
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      onChunk(value);
    }
  } catch {
    // the pipe broke: the process is gone
  }
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // it has exited already
  }
}

function exitStatus(status: Deno.CommandStatus): ExitStatus {
  // Deno reports a process killed by signal N with code 128 + N.
  return status.signal === null ? { code: status.code } : { signal: status.code - 128 };
}

// deno-lint-ignore no-control-regex
const ANSI_COLOUR = /\x1b\[[0-9;]*m/g;

/** Why a worker process ended on its own, from its exit status and the end of its stderr. */
function crashError(status: ExitStatus, tail: string, maxHeapMb?: number): WorkerCrashedError {
  if (/out of memory/i.test(tail)) {
    const limit = maxHeapMb === undefined ? "V8's default heap limit" : `maxHeapMb ${maxHeapMb}`;
    return new WorkerCrashedError(
      `Worker ran out of memory: JavaScript heap out of memory (${limit})`,
    );
  }
  const how = status.signal === undefined
    ? `exited with code ${status.code}`
    : `was killed by signal ${status.signal}`;
  const last = tail.replace(ANSI_COLOUR, "").trim().split("\n").at(-1)?.trim();
  return new WorkerCrashedError(`Worker process ${how}${last ? `: ${last}` : ""}`);
}
