/**
 * The chunks a remote worker holds, from delivery to ack: each is loaded
 * (`ChunkInput`), run on the local scheduler with an `AbortSignal`, and
 * answered (result published to its caller, then acked). A cancel aborts
 * it (the local worker running it is replaced) and acks it without a
 * result; a chunk cancelled before it arrived is acked and dropped. A
 * second delivery of a chunk it still holds only refreshes the ack
 * subject. `heartbeat()` tells the server it is still working on every
 * chunk it holds; `release()` hands the ones not started back (`-NAK`:
 * delivered again at once, elsewhere).
 *
 * @module
 */

import { ChunkInput } from "./_nats_chunk_input.ts";
import { type Msg, type NatsConnection, nuid } from "./_nats_client.ts";
import type { PayloadStore } from "./_nats_store.ts";
import {
  type CancelMessage,
  decode,
  encode,
  type PoolNames,
  type ResultMessage,
  toWireError,
  WIRE_VERSION,
  type WorkMessage,
} from "./_nats_wire.ts";
import type { ChunkOutcome, Scheduler, Ticket } from "./_scheduler.ts";

/** How long a cancel is remembered for a chunk that has not arrived yet. */
const CANCEL_MEMORY_MS = 10 * 60_000;

/** What a held chunk is doing. */
type HeldState =
  /** Fetching large items or a WASM module, checking the task. */
  | { readonly state: "loading" }
  | { readonly state: "running"; readonly ticket: Ticket }
  /** Its result is being stored (too large for a message). */
  | { readonly state: "answering" };

interface Held {
  readonly key: string;
  readonly message: WorkMessage;
  /** Ack subject of the latest delivery. */
  reply: string;
  status: HeldState;
  readonly controller: AbortController;
  cancelled: boolean;
  /** Set while release() drops it: its outcome is the drop, not a result. */
  dropping: boolean;
}

/** What {@linkcode HeldChunks} needs. */
export interface HeldOptions {
  readonly nc: NatsConnection;
  readonly names: PoolNames;
  readonly store: PayloadStore;
  readonly scheduler: Scheduler;
  readonly worker: string;
  readonly allowInline: boolean;
  /** A chunk was let go (acked or handed back): there is room. */
  released(): void;
}

const LOADING: HeldState = { state: "loading" };
const ANSWERING: HeldState = { state: "answering" };
const ACK = "+ACK";
const NAK = "-NAK";
const WORKING = "+WPI";
const TERM = "+TERM";

/** See the module doc. */
export class HeldChunks {
  readonly #options: HeldOptions;
  readonly #input: ChunkInput;
  readonly #held = new Map<string, Held>();
  /** Chunks cancelled by their caller, with when: a later delivery is dropped. */
  readonly #cancelled = new Map<string, number>();
  #ran = 0;
  #failed = 0;
  #releasing = false;

  constructor(options: HeldOptions) {
    this.#options = options;
    this.#input = new ChunkInput(options);
  }

  /** Chunks held now. */
  get size(): number {
    return this.#held.size;
  }

  /** Chunks finished and tasks among them that failed. */
  counts(): { ran: number; failed: number } {
    return { ran: this.#ran, failed: this.#failed };
  }

  /** Takes a delivered chunk (or hands it back at once when `stopping`). */
  take(msg: Msg, stopping: boolean): void {
    const reply = msg.reply;
    if (reply === undefined) return;
    let message: WorkMessage;
    try {
      message = decode<WorkMessage>(msg.data);
    } catch {
      this.#send(reply, TERM); // Not a chunk any worker can read.
      return;
    }
    const key = `${message.caller}.${message.id}`;
    const known = this.#held.get(key);
    if (known !== undefined) {
      known.reply = reply;
      this.#send(reply, WORKING);
      return;
    }
    if (this.#cancelled.has(key)) return this.#send(reply, ACK);
    if (stopping || this.#releasing) return this.#send(reply, NAK);
    const held: Held = {
      key,
      message,
      reply,
      status: LOADING,
      controller: new AbortController(),
      cancelled: false,
      dropping: false,
    };
    this.#held.set(key, held);
    // Whatever goes wrong on the way (a closed connection), the chunk goes back to the queue.
    this.#start(held).catch(() => this.#letGo(held, NAK));
  }

  /** Stops the chunks a caller no longer wants. */
  cancel(message: CancelMessage): void {
    const now = Date.now();
    for (const id of message.ids) {
      const key = `${message.caller}.${id}`;
      this.#cancelled.set(key, now);
      const held = this.#held.get(key);
      if (held === undefined || held.cancelled) continue;
      held.cancelled = true;
      held.controller.abort(new Error("Chunk was cancelled by its caller"));
    }
  }

  /** Tells the server the worker still works on every chunk it holds; forgets old cancels. */
  heartbeat(): void {
    for (const held of this.#held.values()) this.#send(held.reply, WORKING);
    const old = Date.now() - CANCEL_MEMORY_MS;
    for (const [key, at] of this.#cancelled) {
      if (at >= old) break;
      this.#cancelled.delete(key);
    }
  }

  /** Hands every chunk not started back to the queue; running ones go on. */
  release(): void {
    this.#releasing = true;
    for (const held of [...this.#held.values()]) {
      if (held.status.state !== "running") continue;
      held.dropping = true;
      held.status.ticket.cancel(); // Settles at once, and only, if it has not started.
      held.dropping = false;
    }
  }

  async #start(held: Held): Promise<void> {
    const { message } = held;
    let chunk;
    try {
      chunk = await this.#input.load(message);
    } catch (error) {
      return await this.#answer(held, this.#failure(message, error, undefined));
    }
    if (held.cancelled) return this.#letGo(held, ACK);
    if (this.#releasing) return this.#letGo(held, NAK);
    const ticket = this.#options.scheduler.submit({
      spec: chunk.spec,
      items: chunk.items,
      star: message.star,
      timeout: undefined,
      signal: held.controller.signal,
    }, (outcome) => this.#onOutcome(held, outcome));
    if (this.#held.get(held.key) === held) held.status = { state: "running", ticket };
  }

  #onOutcome(held: Held, outcome: ChunkOutcome): void {
    if (held.dropping) return this.#letGo(held, NAK);
    if (held.cancelled) return this.#letGo(held, ACK);
    const { message } = held;
    const result: ResultMessage = outcome.ok
      ? {
        v: WIRE_VERSION,
        id: message.id,
        worker: this.#options.worker,
        ok: true,
        results: outcome.results,
      }
      : this.#failure(message, outcome.error, outcome.partial);
    this.#answer(held, result).catch(() => this.#letGo(held, NAK));
  }

  #failure(message: WorkMessage, error: unknown, partial: ArrayLike<unknown> | undefined) {
    return {
      v: WIRE_VERSION,
      id: message.id,
      worker: this.#options.worker,
      ok: false as const,
      error: toWireError(error),
      partial,
    };
  }

  /** Publishes the result, then acks: the server has the result before it learns of the ack. */
  async #answer(held: Held, result: ResultMessage): Promise<void> {
    const { nc, names, store } = this.#options;
    const subject = names.result(held.message.caller);
    let bytes = encodeResult(result);
    if (store.tooLarge(bytes)) {
      held.status = ANSWERING;
      const object = `result-${held.key}-${nuid.next()}`;
      try {
        await store.put(object, bytes);
      } catch {
        return this.#letGo(held, NAK); // Run again later, elsewhere maybe.
      }
      bytes = encode({ v: WIRE_VERSION, id: result.id, worker: result.worker, object });
    }
    if (!nc.isClosed()) nc.publish(subject, bytes);
    this.#ran++;
    if ("ok" in result && !result.ok) this.#failed++;
    this.#letGo(held, ACK);
  }

  #letGo(held: Held, verdict: string): void {
    if (this.#held.get(held.key) !== held) return;
    this.#held.delete(held.key);
    this.#send(held.reply, verdict);
    this.#options.released();
  }

  #send(reply: string, verdict: string): void {
    if (!this.#options.nc.isClosed()) this.#options.nc.publish(reply, verdict);
  }
}

function encodeResult(result: ResultMessage): Uint8Array {
  try {
    return encode(result);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const failure = new TypeError(
      `Results of the chunk cannot be sent back to the caller: ${reason}`,
    );
    return encode({
      v: result.v,
      id: result.id,
      worker: result.worker,
      ok: false,
      error: toWireError(failure),
    });
  }
}
