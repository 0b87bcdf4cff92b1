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

/** See the module doc. */
export class Puller {
  readonly #nc: NatsConnection;
  readonly #next: string;
  readonly #inbox = `_INBOX.${nuid.next()}`;
  readonly #room: () => number;
  readonly #subscription: Subscription;
  /** Chunks asked for and neither delivered nor given up by the server. */
  #requested = 0;
  #scheduled = false;
  #stopped = false;

  /** Starts listening; `onChunk` receives each delivered chunk. */
  constructor(
    nc: NatsConnection,
    names: PoolNames,
    options: { room(): number; onChunk(msg: Msg): void },
  ) {
    this.#nc = nc;
    this.#next = `$JS.API.CONSUMER.MSG.NEXT.${names.stream}.${names.consumer}`;
    this.#room = options.room;
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
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (this.#stopped || this.#nc.isClosed()) return;
      const want = this.#room() - this.#requested;
      if (want < 1) return;
      this.#requested += want;
      this.#nc.publish(
        this.#next,
        JSON.stringify({ batch: want, expires: PULL_EXPIRES_MS * 1e6 }),
        { reply: this.#inbox },
      );
    });
  }

  /** After a reconnect: the server forgot the requests of the old connection. */
  reset(): void {
    this.#requested = 0;
    this.pump();
  }

  /** No more requests; chunks of requests still open keep arriving until the subscription ends. */
  stop(): void {
    this.#stopped = true;
  }

  /** Ends the subscription. */
  close(): void {
    this.#stopped = true;
    this.#subscription.unsubscribe();
  }

  #onStatus(msg: Msg): void {
    const pending = Number(msg.headers?.get("Nats-Pending-Messages"));
    // Without the header (e.g. 409 Exceeded MaxWaiting) the whole request is gone: ask again.
    this.#requested = Number.isInteger(pending) && msg.headers?.get("Nats-Pending-Messages") !== ""
      ? Math.max(0, this.#requested - pending)
      : 0;
    this.pump();
  }
}
