/**
 * The pool's JetStream Object Store bucket, opened on first use, for what
 * does not fit in one NATS message: chunks and results over the server's
 * `max_payload` (1 MiB by default), and WASM modules, stored once under
 * the SHA-256 of their bytes so every worker fetches the same module.
 *
 * @module
 */

import { type NatsConnection, type ObjectStore, Objm } from "./_nats_client.ts";

/** Bytes kept free under `max_payload` for the envelope of a message. */
const ENVELOPE_MARGIN = 8 * 1024;

/** See the module doc. */
export class PayloadStore {
  readonly #nc: NatsConnection;
  readonly #bucket: string;
  #store: Promise<ObjectStore> | undefined;

  constructor(nc: NatsConnection, bucket: string) {
    this.#nc = nc;
    this.#bucket = bucket;
  }

  /** Whether `bytes` must go through the store rather than in a message. */
  tooLarge(bytes: Uint8Array): boolean {
    const max = this.#nc.info?.max_payload ?? 1024 * 1024;
    return bytes.byteLength > max - ENVELOPE_MARGIN;
  }

  /** Stores `bytes` under `name`. */
  async put(name: string, bytes: Uint8Array): Promise<void> {
    const store = await this.#open();
    await store.putBlob({ name }, bytes);
  }

  /**
   * The bytes stored under `name`.
   *
   * @throws {Error} naming the object when it is not there.
   */
  async get(name: string): Promise<Uint8Array> {
    const store = await this.#open();
    const bytes = await store.getBlob(name);
    if (bytes === null) {
      throw new Error(
        `Object ${name} is missing from the NATS Object Store bucket ${this.#bucket}`,
      );
    }
    return bytes;
  }

  /** Deletes `name`; a missing object or a lost connection is ignored (nothing waits on it). */
  delete(name: string): void {
    this.#open().then((store) => store.delete(name)).catch(() => {});
  }

  /** Stores `bytes` under `name` unless an object of that name is there already (content-addressed names). */
  async ensure(name: string, bytes: Uint8Array): Promise<void> {
    const store = await this.#open();
    if (await store.info(name) === null) await store.putBlob({ name }, bytes);
  }

  #open(): Promise<ObjectStore> {
    if (this.#store === undefined) {
      this.#store = new Objm(this.#nc).create(this.#bucket);
      this.#store.catch(() => this.#store = undefined);
    }
    return this.#store;
  }
}
