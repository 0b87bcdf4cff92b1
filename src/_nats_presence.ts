/**
 * Who is working for a NATS pool, as a caller hears it: each worker
 * publishes a heartbeat on the pool's presence subject every interval
 * (and a last one as it stops); a worker not heard from for a few
 * intervals counts as gone. This is what `Pool.stats()` reports as
 * `alive` and `busy` on the NATS backend.
 *
 * @module
 */

import { decode, type PresenceMessage } from "./_nats_wire.ts";

/** Missed heartbeats after which a worker counts as gone. */
const MISSED = 2.5;

/** See the module doc. */
export class Presence {
  readonly #workers = new Map<string, { readonly message: PresenceMessage; readonly at: number }>();

  /** Records a heartbeat (ignores what cannot be read). */
  heard(bytes: Uint8Array): void {
    let message: PresenceMessage;
    try {
      message = decode<PresenceMessage>(bytes);
    } catch {
      return;
    }
    if (typeof message?.worker !== "string") return;
    if (message.gone) this.#workers.delete(message.worker);
    else this.#workers.set(message.worker, { message, at: Date.now() });
  }

  /** Workers heard from lately, and how many of them hold a chunk. */
  counts(): { alive: number; busy: number } {
    const now = Date.now();
    let alive = 0;
    let busy = 0;
    for (const [name, { message, at }] of this.#workers) {
      if (now - at > MISSED * message.interval) {
        this.#workers.delete(name);
        continue;
      }
      alive++;
      if (message.running > 0) busy++;
    }
    return { alive, busy };
  }
}
