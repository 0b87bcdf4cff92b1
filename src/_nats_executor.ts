/**
 * The remote executor: the caller's end of a NATS pool. `offer` publishes
 * a chunk to the pool's work-queue stream (at most `maxInFlight` out at
 * once: beyond that it returns `false` and the scheduler keeps the rest
 * queued, which is the backpressure); remote workers pull it, run it and
 * publish its result to this caller's result subject, and the first result
 * of each chunk settles it (later ones, from a redelivery, are dropped:
 * exactly-once results over at-least-once execution). `cancel` publishes a
 * cancel and deletes the chunk from the stream if no worker took it yet.
 * A chunk that used up its deliveries (the server's advisory) fails with
 * `WorkerCrashedError`; a lost connection fails every chunk out with
 * `ConnectionLostError`.
 *
 * @module
 */

import type {
  Executor,
  ExecutorChunk,
  ExecutorEvents,
  ExecutorOutcome,
  ExecutorStats,
} from "./_executor.ts";
import { type ConnectSettings, type Msg, nuid } from "./_nats_client.ts";
import { type Connected, NatsLink, settledWithin } from "./_nats_link.ts";
import { Presence } from "./_nats_presence.ts";
import { ensureStream } from "./_nats_setup.ts";
import { WasmUploads } from "./_nats_store.ts";
import {
  type CancelMessage,
  decode,
  encode,
  fromWireError,
  type PoolNames,
  poolNames,
  type ResultMessage,
  WIRE_VERSION,
  type WorkMessage,
} from "./_nats_wire.ts";
import type { TaskSpec } from "./_protocol.ts";
import { WorkerCrashedError } from "./errors.ts";
import { taskLabel } from "./task.ts";

/** Settings of a remote executor (already checked). */
export interface NatsExecutorSettings extends ConnectSettings {
  readonly pool: string;
  /** Most chunks out (published and not settled) at once. */
  readonly maxInFlight: number;
}

/** A chunk out on the work queue. */
interface Remote {
  readonly id: number;
  readonly spec: TaskSpec;
  /** Its stream sequence, once the server stored it. */
  seq: number | undefined;
  /** Object Store name of its items, when they were too large for a message. */
  object: string | undefined;
  /** Cancelled before the server confirmed it: delete it once it does. */
  cancelled: boolean;
}

/** See the module doc. */
export class NatsExecutor implements Executor {
  readonly #events: ExecutorEvents;
  readonly #settings: NatsExecutorSettings;
  readonly #names: PoolNames;
  readonly #caller = nuid.next();
  readonly #link: NatsLink;
  readonly #presence = new Presence();
  readonly #remote = new Map<number, Remote>();
  readonly #bySeq = new Map<number, number>();
  readonly #wasm: WasmUploads;
  #cancels: number[] = [];
  #stopping: Promise<void> | undefined;

  constructor(events: ExecutorEvents, settings: NatsExecutorSettings) {
    this.#events = events;
    this.#settings = settings;
    this.#names = poolNames(settings.pool);
    this.#link = new NatsLink(settings, this.#names, (conn) => this.#setup(conn), {
      open: () => this.#events.available(),
      down: (error) => {
        for (const id of [...this.#remote.keys()]) this.#fail(id, error);
        this.#events.unavailable(error);
      },
    });
    this.#wasm = new WasmUploads(() => this.#link.ready().then((conn) => conn.store));
  }

  prepare(spec: TaskSpec): Promise<void> | undefined {
    return spec.kind === "wasm" ? this.#wasm.prepare(spec.key) : undefined;
  }

  offer(chunks: readonly ExecutorChunk[], _expectedMs: number | undefined): number {
    const link = this.#link.state;
    if (link.state === "connecting" || link.state === "closed") return 0;
    if (link.state !== "open") {
      const { error } = link;
      const ids = chunks.map((chunk) => chunk.id);
      queueMicrotask(() => {
        for (const id of ids) this.#events.settled(id, { ok: false, error });
      });
      return chunks.length;
    }
    const room = Math.min(chunks.length, this.#settings.maxInFlight - this.#remote.size);
    // Encoded first: a chunk that cannot be sent is refused before anything is published.
    const encoded: { chunk: ExecutorChunk; message: WorkMessage; bytes: Uint8Array }[] = [];
    for (let i = 0; i < room; i++) {
      const chunk = chunks[i];
      const message: WorkMessage = {
        v: WIRE_VERSION,
        caller: this.#caller,
        id: chunk.id,
        spec: chunk.spec,
        star: chunk.star,
        items: chunk.items,
        wasm: chunk.spec.kind === "wasm" ? this.#wasm.objectName(chunk.spec.key) : undefined,
      };
      let bytes: Uint8Array;
      try {
        bytes = encodeChunk(message);
      } catch (error) {
        if (i === 0) throw error;
        break; // Offered again on its own, it throws then.
      }
      encoded.push({ chunk, message, bytes });
    }
    for (const { chunk, message, bytes } of encoded) {
      const remote: Remote = {
        id: chunk.id,
        spec: chunk.spec,
        seq: undefined,
        object: undefined,
        cancelled: false,
      };
      this.#remote.set(chunk.id, remote);
      this.#events.started(chunk.id);
      if (link.conn.store.tooLarge(bytes)) this.#publishLarge(link.conn, remote, message);
      else this.#publish(link.conn, remote, bytes);
    }
    return encoded.length;
  }

  spare(): number {
    const link = this.#link.state.state;
    if (link !== "open" && link !== "connecting") return 0;
    return Math.max(0, this.#settings.maxInFlight - this.#remote.size);
  }

  cancel(id: number): void {
    const remote = this.#remote.get(id);
    if (remote === undefined) return;
    this.#forget(remote);
    remote.cancelled = true;
    this.#deleteFromStream(remote);
    if (this.#cancels.length === 0) queueMicrotask(() => this.#flushCancels());
    this.#cancels.push(id);
    queueMicrotask(() => this.#events.available());
  }

  /** A chunk out on the queue is taken back as cheaply as it is cancelled. */
  abandon(id: number): void {
    this.cancel(id);
  }

  shutdown(): Promise<void> {
    return this.#stopping ??= this.#link.close();
  }

  /**
   * Nothing to do: the NATS client cannot unref its socket, so an open
   * connection keeps the host alive until `close()` + `join()` or
   * `terminate()` (documented).
   */
  hold(_active: boolean): void {}

  terminate(): Promise<void> {
    return this.#stopping ??= (async () => {
      const out = [...this.#remote.values()];
      const state = this.#link.state;
      const deletes: Promise<void>[] = [];
      for (const remote of out) {
        this.#forget(remote);
        remote.cancelled = true;
        const deleted = this.#deleteFromStream(remote);
        if (deleted !== undefined) deletes.push(deleted);
      }
      if (state.state === "open" && out.length > 0) {
        this.#cancels.push(...out.map((remote) => remote.id));
        this.#flushCancels();
        await settledWithin([...deletes, state.conn.nc.flush()], TERMINATE_WAIT_MS);
      }
      await this.#link.close();
    })();
  }

  stats(): ExecutorStats {
    const { alive, busy } = this.#presence.counts();
    return { alive, busy, replaced: 0, wasmInstantiations: 0 };
  }

  async #setup(conn: Connected): Promise<void> {
    await ensureStream(conn.jsm, this.#names);
    conn.nc.subscribe(this.#names.result(this.#caller), {
      callback: (_error, msg) => this.#onResult(conn, msg),
    });
    conn.nc.subscribe(this.#names.maxDeliveries, {
      callback: (_error, msg) => this.#onGivenUp(conn, msg),
    });
    conn.nc.subscribe(this.#names.presence, {
      callback: (_error, msg) => this.#presence.heard(msg.data),
    });
    await conn.nc.flush();
  }

  #publish(conn: Connected, remote: Remote, bytes: Uint8Array): void {
    conn.js.publish(this.#names.work(this.#caller), bytes).then((ack) => {
      remote.seq = ack.seq;
      if (remote.cancelled) this.#deleteFromStream(remote);
      else this.#bySeq.set(ack.seq, remote.id);
    }, (error) => {
      const reason = error instanceof Error ? error.message : String(error);
      this.#fail(
        remote.id,
        new Error(`Cannot queue the chunk on NATS stream ${this.#names.stream}: ${reason}`, {
          cause: error,
        }),
      );
    });
  }

  /** Puts the items in the Object Store, then publishes the chunk naming them. */
  #publishLarge(conn: Connected, remote: Remote, message: WorkMessage): void {
    const object = `chunk-${this.#caller}-${remote.id}`;
    remote.object = object;
    conn.store.put(object, encode(message.items)).then(() => {
      if (remote.cancelled) {
        conn.store.delete(object);
        return;
      }
      this.#publish(conn, remote, encode({ ...message, items: undefined, object }));
    }, (error) => {
      const reason = error instanceof Error ? error.message : String(error);
      this.#fail(
        remote.id,
        new Error(`Cannot store a large chunk in NATS bucket ${this.#names.bucket}: ${reason}`, {
          cause: error,
        }),
      );
    });
  }

  #onResult(conn: Connected, msg: Msg): void {
    let message: ResultMessage;
    try {
      message = decode<ResultMessage>(msg.data);
    } catch {
      return; // Not ours to read (another version): its chunk fails when it times out or is cancelled.
    }
    if ("object" in message) {
      const { object } = message;
      if (!this.#remote.has(message.id)) {
        conn.store.delete(object);
        return;
      }
      conn.store.get(object)
        .then((bytes) => this.#settleWith(decode<ResultMessage>(bytes)))
        .catch((error) => this.#fail(message.id, error))
        .finally(() => conn.store.delete(object));
      return;
    }
    this.#settleWith(message);
  }

  #settleWith(message: ResultMessage): void {
    if ("object" in message) return;
    const outcome: ExecutorOutcome = message.ok
      ? { ok: true, results: message.results }
      : { ok: false, error: fromWireError(message.error), partial: message.partial };
    this.#settle(message.id, outcome);
  }

  /** The server gave up on a chunk: every worker that took it was lost before it answered. */
  #onGivenUp(conn: Connected, msg: Msg): void {
    let advisory: { stream_seq?: number; deliveries?: number };
    try {
      advisory = msg.json();
    } catch {
      return;
    }
    const seq = advisory.stream_seq;
    const id = seq === undefined ? undefined : this.#bySeq.get(seq);
    if (id === undefined) return;
    const remote = this.#remote.get(id)!;
    conn.jsm.streams.deleteMessage(this.#names.stream, seq!, false).catch(() => {});
    this.#fail(
      id,
      new WorkerCrashedError(
        `Task ${
          taskLabel(remote.spec)
        } was delivered ${advisory.deliveries} times and no worker finished it: ` +
          `each worker that took it was lost (killed, out of memory, or cut off) before it answered`,
      ),
    );
  }

  #fail(id: number, error: unknown): void {
    this.#settle(id, { ok: false, error });
  }

  #settle(id: number, outcome: ExecutorOutcome): void {
    const remote = this.#remote.get(id);
    if (remote === undefined) return;
    this.#forget(remote);
    this.#events.settled(id, outcome);
    this.#events.available();
  }

  /** Takes a chunk out of the books (and its large items out of the store). */
  #forget(remote: Remote): void {
    this.#remote.delete(remote.id);
    if (remote.seq !== undefined) this.#bySeq.delete(remote.seq);
    const state = this.#link.state;
    if (remote.object !== undefined && (state.state === "open" || state.state === "lost")) {
      state.conn.store.delete(remote.object);
    }
  }

  /** Deletes a cancelled chunk from the stream, so that no worker takes it. */
  #deleteFromStream(remote: Remote): Promise<void> | undefined {
    const state = this.#link.state;
    if (remote.seq === undefined || state.state !== "open") return undefined;
    // By sequence: a purge by subject on a work queue skips other messages on server 2.9.
    return state.conn.jsm.streams.deleteMessage(this.#names.stream, remote.seq, false).then(
      () => {},
      () => {},
    );
  }

  #flushCancels(): void {
    const ids = this.#cancels;
    this.#cancels = [];
    const state = this.#link.state;
    if (ids.length === 0 || state.state !== "open") return;
    const message: CancelMessage = { caller: this.#caller, ids };
    state.conn.nc.publish(this.#names.cancel, encode(message));
  }
}

/** Longest wait in terminate() for the cancels and stream deletes to reach the server. */
const TERMINATE_WAIT_MS = 1_000;

function encodeChunk(message: WorkMessage): Uint8Array {
  try {
    return encode(message);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TypeError(`Arguments of the chunk cannot be sent to a NATS worker: ${reason}`, {
      cause: error,
    });
  }
}
