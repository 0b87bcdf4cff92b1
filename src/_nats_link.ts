/**
 * A caller's connection to a NATS pool, as a state machine:
 * `connecting | open | lost | failed | closed`. It connects once (a first
 * failure is final), runs the caller's setup before it reports `open`,
 * reports `lost` when the connection drops (the client then reconnects on
 * its own: `open` again) and `failed` when the client gives up. Closing is
 * bounded in time, whatever the server does.
 *
 * @module
 */

import {
  type ConnectSettings,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type NatsConnection,
  openConnection,
} from "./_nats_client.ts";
import { PayloadStore } from "./_nats_store.ts";
import type { PoolNames } from "./_nats_wire.ts";
import { ConnectionLostError } from "./errors.ts";

/** An open connection and the APIs over it. */
export interface Connected {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly store: PayloadStore;
}

/** Where the link is. */
export type LinkState =
  | { readonly state: "connecting" }
  | { readonly state: "open"; readonly conn: Connected }
  /** The connection dropped; the client is reconnecting. */
  | { readonly state: "lost"; readonly conn: Connected; readonly error: ConnectionLostError }
  /** It never connected, or the client gave up reconnecting. */
  | { readonly state: "failed"; readonly error: Error }
  | { readonly state: "closed" };

/** What the link tells its owner; every call is synchronous. */
export interface LinkEvents {
  /** Connected (the first time, after `setup`), or reconnected after `lost`. */
  open(conn: Connected): void;
  /** The connection dropped, or could not be made, or will not be made again. */
  down(error: Error): void;
}

/** Longest wait for the client to close. */
const CLOSE_LIMIT_MS = 2_000;

/** See the module doc. */
export class NatsLink {
  #state: LinkState = { state: "connecting" };
  readonly #events: LinkEvents;
  readonly #servers: string;
  readonly #connecting: Promise<Connected | undefined>;

  /** Starts connecting; `setup` runs once, before the first `open`. */
  constructor(
    settings: ConnectSettings,
    names: PoolNames,
    setup: (conn: Connected) => Promise<void>,
    events: LinkEvents,
  ) {
    this.#events = events;
    this.#servers = settings.servers.join(", ");
    this.#connecting = this.#connect(settings, names, setup);
  }

  /** The current state. */
  get state(): LinkState {
    return this.#state;
  }

  /** Resolves with the connection once open; rejects if it fails or the link is closed first. */
  async ready(): Promise<Connected> {
    const conn = await this.#connecting;
    const state = this.#state;
    if (conn !== undefined && (state.state === "open" || state.state === "lost")) return conn;
    throw state.state === "failed" ? state.error : new Error("The NATS connection was closed");
  }

  /** Closes the connection (waits at most about two seconds); idempotent. */
  async close(): Promise<void> {
    this.#state = { state: "closed" };
    const conn = await this.#connecting;
    if (conn === undefined) return;
    await settledWithin([conn.nc.close()], CLOSE_LIMIT_MS);
  }

  async #connect(
    settings: ConnectSettings,
    names: PoolNames,
    setup: (conn: Connected) => Promise<void>,
  ): Promise<Connected | undefined> {
    let nc: NatsConnection;
    try {
      nc = await openConnection(settings);
    } catch (error) {
      this.#fail(error as Error);
      return undefined;
    }
    const conn: Connected = {
      nc,
      js: jetstream(nc),
      jsm: await jetstreamManager(nc, { checkAPI: false }),
      store: new PayloadStore(nc, names.bucket),
    };
    if (this.#state.state === "closed") return conn;
    try {
      await setup(conn);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#fail(new Error(`Cannot set up NATS pool ${names.pool}: ${reason}`, { cause: error }));
      await nc.close().catch(() => {});
      return undefined;
    }
    this.#watch(conn);
    if (this.#state.state !== "connecting") return conn;
    this.#state = { state: "open", conn };
    this.#events.open(conn);
    return conn;
  }

  #watch(conn: Connected): void {
    (async () => {
      for await (const status of conn.nc.status()) {
        const state = this.#state;
        if (status.type === "disconnect" && state.state === "open") {
          const error = new ConnectionLostError(
            `Connection to NATS server ${this.#servers} was lost before the task finished`,
          );
          this.#state = { state: "lost", conn, error };
          this.#events.down(error);
        } else if (status.type === "reconnect" && state.state === "lost") {
          this.#state = { state: "open", conn };
          this.#events.open(conn);
        }
      }
    })().catch(() => {});
    conn.nc.closed().then((closed) => {
      if (this.#state.state === "closed") return;
      const reason = closed instanceof Error ? `: ${closed.message}` : "";
      this.#fail(
        new ConnectionLostError(
          `Connection to NATS server ${this.#servers} was lost and could not be made again${reason}`,
        ),
      );
    });
  }

  #fail(error: Error): void {
    if (this.#state.state === "closed" || this.#state.state === "failed") return;
    this.#state = { state: "failed", error };
    this.#events.down(error);
  }
}

/** Waits until every promise settled, or `ms` passed. */
export async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  await Promise.race([Promise.allSettled(promises), limit]);
  clearTimeout(timer);
}
