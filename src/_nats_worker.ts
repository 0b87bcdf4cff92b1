/**
 * A remote worker of a NATS pool: it pulls chunks from the pool's work
 * queue (never more than it can run plus a small prefetch), runs each on a
 * local multipool scheduler (thread or process workers), publishes the
 * result to the caller and only then acks the chunk. While it holds a
 * chunk it tells the server it is still working on it (so a long chunk is
 * not delivered again), and it stops a chunk that its caller cancelled.
 * `stop()` is graceful: no more pulls, chunks not started go back to the
 * queue, running ones finish.
 *
 * @module
 */

import { BACKEND_NAMES, executorFor } from "./backend.ts";
import { realClock } from "./_clock.ts";
import { Condition } from "./_condition.ts";
import {
  type ConnectSettings,
  jetstreamManager,
  type Msg,
  type NatsConnection,
  openConnection,
} from "./_nats_client.ts";
import { HeldChunks } from "./_nats_held.ts";
import { settledWithin } from "./_nats_link.ts";
import { Puller } from "./_nats_puller.ts";
import { ensureConsumer, ensureStream } from "./_nats_setup.ts";
import { PayloadStore } from "./_nats_store.ts";
import {
  type CancelMessage,
  decode,
  encode,
  type PoolNames,
  poolNames,
  type PresenceMessage,
} from "./_nats_wire.ts";
import { Scheduler } from "./_scheduler.ts";

/** Settings of a remote worker (already checked). */
export interface NatsWorkerSettings extends ConnectSettings {
  readonly pool: string;
  /** Name in logs, results and presence. */
  readonly name: string;
  /** Local workers, so chunks run at once. */
  readonly concurrency: number;
  /** Chunks held beyond `concurrency`, ready for the next free local worker. */
  readonly prefetch: number;
  readonly backend: "thread" | "process";
  readonly allowInline: boolean;
  /** Explicit consumer settings (else the consumer's, or the defaults). */
  readonly ackWait?: number | undefined;
  readonly maxDeliveries?: number | undefined;
  /** Milliseconds between presence heartbeats. */
  readonly presenceInterval: number;
}

/** Redelivery settings of a new consumer. */
export const CONSUMER_DEFAULTS = { ackWait: 30_000, maxDeliveries: 5 } as const;

/** Pause before making a deleted stream and consumer again. */
const RECOVER_DELAY_MS = 2_000;

/** Delay of a presence message after the worker turned idle or busy. */
const ANNOUNCE_DELAY_MS = 50;

/** How a worker's run went. */
export interface WorkerCounts {
  /** Chunks it finished (results published and acked). */
  readonly ran: number;
  /** Of those, chunks whose task failed. */
  readonly failed: number;
}

/** See the module doc. */
export class NatsWorker {
  readonly #settings: NatsWorkerSettings;
  readonly #nc: NatsConnection;
  readonly #names: PoolNames;
  readonly #scheduler: Scheduler;
  readonly #held: HeldChunks;
  readonly #puller: Puller;
  readonly #changed = new Condition();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  #stopping: Promise<void> | undefined;
  #announcing: ReturnType<typeof setTimeout> | undefined;
  #recovering = false;

  private constructor(
    settings: NatsWorkerSettings,
    nc: NatsConnection,
    ackWait: number,
    scheduler: Scheduler,
  ) {
    this.#settings = settings;
    this.#nc = nc;
    this.#names = poolNames(settings.pool);
    this.#scheduler = scheduler;
    this.#held = new HeldChunks({
      nc,
      names: this.#names,
      store: new PayloadStore(nc, this.#names.bucket),
      scheduler,
      worker: settings.name,
      allowInline: settings.allowInline,
      released: () => {
        this.#puller.pump();
        this.#changed.notify();
        if (this.#held.size === 0) this.#announceSoon();
      },
    });
    const capacity = settings.concurrency + settings.prefetch;
    this.#puller = new Puller(nc, this.#names, {
      room: () => capacity - this.#held.size,
      onTrouble: (status) => this.#recover(`the server refused a pull (${status})`),
      onChunk: (msg: Msg) => {
        const idle = this.#held.size === 0;
        this.#held.take(msg, this.#stopping !== undefined);
        if (idle && this.#held.size > 0) this.#announceSoon();
      },
    });
    nc.subscribe(this.#names.cancel, {
      callback: (_error, msg) => {
        try {
          this.#held.cancel(decode<CancelMessage>(msg.data));
        } catch {
          // Not a cancel this version can read.
        }
      },
    });
    // Pull requests waiting at a deleted consumer are not always answered: listen for it too.
    nc.subscribe(this.#names.consumerDeleted, {
      callback: () => this.#recover("the pool's consumer was deleted"),
    });
    this.#timers.push(
      setInterval(() => this.#held.heartbeat(), Math.max(100, ackWait / 3)),
      setInterval(() => this.#announce(false), settings.presenceInterval),
    );
    this.#watch();
    this.#announce(false);
    this.#puller.pump();
  }

  /**
   * Connects, creates the stream and the consumer if needed, starts the
   * local workers and starts pulling.
   *
   * @throws {Error} when the server cannot be reached or the local backend cannot start.
   */
  static async start(settings: NatsWorkerSettings): Promise<NatsWorker> {
    if (!BACKEND_NAMES.includes(settings.backend)) {
      throw new RangeError(
        `Backend "${settings.backend}" is not available in this version of multipool (it has ${
          BACKEND_NAMES.map((name) => `"${name}"`).join(", ")
        })`,
      );
    }
    const scheduler = new Scheduler(
      executorFor(settings.backend, {
        size: settings.concurrency,
        name: settings.name,
        permissions: undefined,
        initializer: undefined,
        initArgs: [],
        initTimeout: undefined,
        maxTasksPerWorker: undefined,
        clock: realClock,
      }),
    );
    let nc: NatsConnection | undefined;
    try {
      nc = await openConnection({ ...settings, maxReconnectAttempts: -1 });
      const jsm = await jetstreamManager(nc, { checkAPI: false });
      const names = poolNames(settings.pool);
      await ensureStream(jsm, names);
      const consumer = await ensureConsumer(jsm, names, settings, CONSUMER_DEFAULTS);
      const worker = new NatsWorker(settings, nc, consumer.ackWait, scheduler);
      await nc.flush();
      return worker;
    } catch (error) {
      scheduler.terminate();
      await nc?.close().catch(() => {});
      throw error;
    }
  }

  /** Chunks finished so far. */
  counts(): WorkerCounts {
    return this.#held.counts();
  }

  /** Resolves when the connection is closed (by `stop()`, or for good by the server). */
  closed(): Promise<void> {
    return this.#nc.closed().then(() => {});
  }

  /**
   * Stops gracefully: no more pulls; chunks not started go back to the
   * queue at once; running chunks finish and are reported; then the local
   * workers stop and the connection closes.
   */
  stop(): Promise<void> {
    return this.#stopping ??= (async () => {
      this.#puller.stop();
      this.#held.release();
      await this.#changed.until(() => this.#held.size === 0);
      this.#scheduler.close();
      await this.#scheduler.join();
      for (const timer of this.#timers) clearInterval(timer);
      clearTimeout(this.#announcing);
      this.#announce(true);
      this.#puller.close();
      await settledWithin([this.#nc.flush()], 2_000);
      await settledWithin([this.#nc.close()], 2_000);
    })();
  }

  /** Stops now: running chunks are abandoned (their ack wait brings them back to the queue). */
  async kill(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#announcing);
    this.#puller.close();
    await this.#scheduler.terminate();
    await settledWithin([this.#nc.close()], 2_000);
  }

  /**
   * The server refused a pull, or the consumer was deleted: say so, and
   * after a pause (server 2.9 mishandles a stream made again at once)
   * create the stream and consumer again.
   */
  #recover(why: string): void {
    if (this.#recovering) return;
    this.#recovering = true;
    console.error(`multipool worker ${this.#settings.name}: ${why}; making it again`);
    setTimeout(() => {
      if (this.#stopping !== undefined || this.#nc.isClosed()) return;
      jetstreamManager(this.#nc, { checkAPI: false }).then(async (jsm) => {
        await ensureStream(jsm, this.#names);
        await ensureConsumer(jsm, this.#names, this.#settings, CONSUMER_DEFAULTS);
        this.#puller.reset();
      }).catch((error) => {
        const reason = error instanceof Error ? error.message : String(error);
        console.error(
          `multipool worker ${this.#settings.name}: cannot make the stream again: ${reason}`,
        );
      }).finally(() => this.#recovering = false);
    }, RECOVER_DELAY_MS);
  }

  #watch(): void {
    (async () => {
      for await (const status of this.#nc.status()) {
        if (status.type === "reconnect") this.#puller.reset();
      }
    })().catch(() => {});
  }

  /** Announces a change between idle and busy, at most one message per {@linkcode ANNOUNCE_DELAY_MS}. */
  #announceSoon(): void {
    if (this.#announcing !== undefined || this.#stopping !== undefined) return;
    this.#announcing = setTimeout(() => {
      this.#announcing = undefined;
      this.#announce(false);
    }, ANNOUNCE_DELAY_MS);
  }

  #announce(gone: boolean): void {
    if (this.#nc.isClosed()) return;
    const message: PresenceMessage = {
      worker: this.#settings.name,
      concurrency: this.#settings.concurrency,
      running: this.#held.size,
      ran: this.#held.counts().ran,
      interval: this.#settings.presenceInterval,
      gone,
    };
    this.#nc.publish(this.#names.presence, encode(message));
  }
}
