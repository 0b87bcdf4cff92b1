/**
 * A worker's pull loop with backpressure. It asks the pool's consumer for
 * exactly as many chunks as the worker has room for (`room()`: free slots
 * plus a small prefetch, minus what it holds), with long-lived pull
 * requests so that a chunk published while the worker waits reaches it at
 * once. The server answers a pull request with messages, then a status
 * (`408 Request Timeout` when it expires) whose `Nats-Pending-Messages`
 * header says how many of the request were never sent: that is how it
 * knows, without a subscription per request, how many chunks are still
 * asked for.
 *
 * The raw pull protocol is used rather than the client's `consume()`,
 * which refills by messages received, not by messages finished: a worker
 * would pull ahead of what it can run while their ack wait ran out.
 *
 * @module
 */

import { type Msg, type NatsConnection, nuid, type Subscription } from "./_nats_client.ts";
import type { PoolNames } from "./_nats_wire.ts";

/** How long a pull request waits at the server for chunks. */
const PULL_EXPIRES_MS = 10_000;
/** After this long past a request's expiry, what it still owed counts as lost (the server forgot it). */
const LOST_AFTER_MS = 2_000;
/** Pause before asking again after the server refused a request (no stream, no consumer...). */
const TROUBLE_PAUSE_MS = 1_000;

/** See the module doc. */
export class Puller {
  readonly #nc: NatsConnection;
  readonly #next: string;
  readonly #inbox = `_INBOX.${nuid.next()}`;
  readonly #room: () => number;
  readonly #onTrouble: (status: string) => void;
  #pause: ReturnType<typeof setTimeout> | undefined;
  readonly #watchdog: ReturnType<typeof setInterval>;
  /** When the last request was sent: every request has ended by then plus its expiry. */
  #lastRequest = 0;
  readonly #subscription: Subscription;
  /** Chunks asked for and neither delivered nor given up by the server. */
  #requested = 0;
  #scheduled = false;
  #stopped = false;

  /** Starts listening; `onChunk` receives each delivered chunk. */
  constructor(
    nc: NatsConnection,
    names: PoolNames,
    options: {
      room(): number;
      onChunk(msg: Msg): void;
      /** The server refused a request (other than by its expiry): it is asked again in a second. */
      onTrouble(status: string): void;
    },
  ) {
    this.#nc = nc;
    this.#next = `$JS.API.CONSUMER.MSG.NEXT.${names.stream}.${names.consumer}`;
    this.#room = options.room;
    this.#onTrouble = options.onTrouble;
    // A request the server forgets (its consumer deleted and made again) sends no status.
    this.#watchdog = setInterval(() => {
      if (this.#requested === 0) return;
      if (Date.now() - this.#lastRequest > PULL_EXPIRES_MS + LOST_AFTER_MS) this.reset();
    }, PULL_EXPIRES_MS / 2);
    this.#subscription = nc.subscribe(this.#inbox, {
      callback: (_error, msg) => {
        const code = msg.headers?.code ?? 0;
        if (code === 0) {
          this.#requested = Math.max(0, this.#requested - 1);
          options.onChunk(msg);
        } else if (code !== 100) {
          this.#onStatus(msg);
        }
      },
    });
  }

  /** Asks for more chunks if there is room (soon: calls in one turn make one request). */
  pump(): void {
    if (this.#scheduled || this.#stopped || this.#pause !== undefined) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (this.#stopped || this.#nc.isClosed()) return;
      const want = this.#room() - this.#requested;
      if (want < 1) return;
      this.#requested += want;
      this.#lastRequest = Date.now();
      this.#nc.publish(
        this.#next,
        JSON.stringify({ batch: want, expires: PULL_EXPIRES_MS * 1e6 }),
        { reply: this.#inbox },
      );
    });
  }

  /** After a reconnect, or a new consumer: the server forgot the requests made before. */
  reset(): void {
    this.#requested = 0;
    this.pump();
  }

  /** No more requests; chunks of requests still open keep arriving until the subscription ends. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#pause);
    clearInterval(this.#watchdog);
  }

  /** Ends the subscription. */
  close(): void {
    this.stop();
    this.#subscription.unsubscribe();
  }

  #onStatus(msg: Msg): void {
    const header = msg.headers?.get("Nats-Pending-Messages") ?? "";
    const pending = Number(header);
    // Without the header (e.g. 409 Exceeded MaxWaiting) the whole request is gone: ask again.
    this.#requested = header !== "" && Number.isInteger(pending)
      ? Math.max(0, this.#requested - pending)
      : 0;
    const code = msg.headers?.code ?? 0;
    if (code === 408) {
      this.pump();
      return;
    }
    this.#onTrouble(`${code} ${msg.headers?.description ?? ""}`.trim());
    clearTimeout(this.#pause);
    this.#pause = setTimeout(() => {
      this.#pause = undefined;
      this.pump();
    }, TROUBLE_PAUSE_MS);
  }
}
