/**
 * How a worker slot puts chunks on the wire and reads a worker's exit
 * report: each task spec and WASM module goes to a worker once (later
 * chunks refer to the task by number), a call of one number that follows
 * the last chunk travels as the bare number (`NextCall`), a small chunk of
 * plain values as JSON text, a chunk of plain numbers packed in a
 * transferred `Float64Array`, and several chunks of one task go in one
 * message.
 *
 * @module
 */

import type { ExecutorChunk } from "./_executor.ts";
import {
  type ChunkItems,
  JSON_BUDGET,
  jsonSafe,
  ownsBuffer,
  packNumbers,
  type TaskSpec,
  type ToWorker,
  type WorkerMessage,
} from "./_protocol.ts";
import { fromErrorData, WorkerCrashedError } from "./errors.ts";
import type { ExitStatus, Transport } from "./_transport.ts";
import { registeredModule } from "./_wasm_registry.ts";

/** The sending side of one worker's protocol. */
export class SlotWire {
  readonly #transport: Transport;
  readonly #onWasmSent: (() => void) | undefined;
  /** Numbers of the task specs this worker was sent. */
  readonly #tasks = new Map<TaskSpec, number>();
  /** Keys of the WASM modules this worker was sent. */
  readonly #wasm = new Set<string>();
  /** The last chunk sent: what a bare-number call follows on (see {@linkcode NextCall}). */
  #last: { id: number; task: number; flag: 0 | 1 } = { id: NaN, task: NaN, flag: 0 };

  constructor(transport: Transport, onWasmSent?: () => void) {
    this.#transport = transport;
    this.#onWasmSent = onWasmSent;
  }

  /** Sends `chunks` (of one task) in one message; throws when they cannot be sent. */
  send(chunks: readonly ExecutorChunk[]): void {
    const { spec, star } = chunks[0];
    if (spec.kind === "wasm" && !this.#wasm.has(spec.key)) {
      this.#transport.post({ type: "wasm", key: spec.key, module: registeredModule(spec.key) });
      this.#wasm.add(spec.key);
      this.#onWasmSent?.();
    }
    let task = this.#tasks.get(spec);
    if (task === undefined) {
      task = this.#tasks.size;
      this.#transport.post({ type: "task", task, spec });
      this.#tasks.set(spec, task);
    }
    const flag = star ? 1 : 0;
    const last = this.#last;
    const follows = last.task === task && last.flag === flag && chunks[0].id === last.id + 1;
    // Only once posted: the worker follows on the messages it got.
    this.#post(chunks, task, flag, follows);
    last.id = chunks[chunks.length - 1].id;
    last.task = task;
    last.flag = flag;
  }

  #post(chunks: readonly ExecutorChunk[], task: number, flag: 0 | 1, follows: boolean): void {
    if (chunks.length === 1) {
      const chunk = chunks[0];
      const next = follows && chunk.transfer === undefined ? soleNumber(chunk) : undefined;
      if (next !== undefined) {
        // The call right after the last one, of one number: the number alone says it.
        this.#transport.post(next);
        return;
      }
      const items = wireItems(chunk);
      const moved = items instanceof Float64Array
        ? [...chunk.transfer ?? [], items.buffer]
        : chunk.transfer ?? [];
      this.#postChunks([chunk.id, task, items, flag], { items, moved, count: 1 });
      return;
    }
    const items = chunks.map(wireItems);
    const moved = new Set<Transferable>();
    for (const list of items) if (list instanceof Float64Array) moved.add(list.buffer);
    for (const chunk of chunks) for (const entry of chunk.transfer ?? []) moved.add(entry);
    const ids = chunks.map((chunk) => chunk.id);
    this.#postChunks([ids, task, items, flag], { items, moved: [...moved], count: chunks.length });
  }

  /**
   * Posts a message of `count` chunks: with what it moves, if anything; else,
   * when its items are small plain values, as JSON text (a string posts for
   * a fraction of a clone, of one small array or of hundreds coalesced).
   */
  #postChunks(
    message: ToWorker,
    chunks: { items: unknown; moved: readonly Transferable[]; count: number },
  ): void {
    if (chunks.moved.length > 0) this.#transport.post(message, [...chunks.moved]);
    else if (jsonSafe(chunks.items, { left: JSON_BUDGET * chunks.count })) {
      this.#transport.post(JSON.stringify(message));
    } else this.#transport.post(message);
  }
}

/** The number a chunk of one call passes when that is all it passes, else `undefined`. */
function soleNumber(chunk: ExecutorChunk): number | undefined {
  const items = chunk.items;
  if (items.length !== 1 || items instanceof Float64Array) return undefined;
  let value = items[0];
  if (chunk.star) {
    const args = value as readonly unknown[];
    value = args.length === 1 ? args[0] : undefined;
  }
  return typeof value === "number" ? value : undefined;
}

/** A chunk's items as they travel: plain numbers of a plain chunk packed into a Float64Array. */
function wireItems(chunk: ExecutorChunk): ChunkItems {
  const items = chunk.items;
  if (items instanceof Float64Array) return ownsBuffer(items) ? items : items.slice();
  if (chunk.star) return items;
  return packNumbers(items) ?? items;
}

/** The error and exit status an `exit` report stands for. */
export function exitReport(
  message: Extract<WorkerMessage, { type: "exit" }>,
): { error: WorkerCrashedError; status: ExitStatus | undefined } {
  const status = message.reason === "exit" ? { code: message.code ?? 0 } : undefined;
  const what = message.reason === "close"
    ? "Worker called close() before the task finished"
    : message.reason === "exit"
    ? `Worker called Deno.exit(${message.code ?? ""}) before the task finished`
    : message.reason === "oom"
    ? `Worker ran out of memory: ${message.error?.message}`
    : `Worker had an uncaught error: ${message.error?.name}: ${message.error?.message}`;
  const cause = message.reason === "oom"
    ? undefined
    : message.error && fromErrorData(message.error);
  return {
    error: new WorkerCrashedError(what, cause === undefined ? undefined : { cause }),
    status,
  };
}
