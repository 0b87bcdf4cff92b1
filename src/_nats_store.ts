/**
 * The pool's JetStream Object Store bucket, opened on first use, for what
 * does not fit in one NATS message: chunks and results over the server's
 * `max_payload` (1 MiB by default), and WASM modules, stored once under
 * the SHA-256 of their bytes so every worker fetches the same module.
 *
 * @module
 */

import { type NatsConnection, type ObjectStore, Objm } from "./_nats_client.ts";
import { ensureModule, moduleBytes, sha256 } from "./_wasm_registry.ts";

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

/**
 * A caller's WASM modules in the store: each registered module is uploaded
 * once, under `wasm-<sha256 of its bytes>`, before its first chunk is
 * published (the executor's `prepare`).
 */
export class WasmUploads {
  readonly #store: () => Promise<PayloadStore>;
  /** Object names of the modules uploaded, by registry key. */
  readonly #names = new Map<string, string>();
  readonly #uploads = new Map<string, Promise<void>>();

  constructor(store: () => Promise<PayloadStore>) {
    this.#store = store;
  }

  /** `undefined` once the module of `key` is in the store; else a promise that settles when it is. */
  prepare(key: string): Promise<void> | undefined {
    if (this.#names.has(key)) return undefined;
    let upload = this.#uploads.get(key);
    if (upload === undefined) {
      upload = this.#upload(key);
      this.#uploads.set(key, upload);
      upload.catch(() => this.#uploads.delete(key));
    }
    return upload;
  }

  /** The object name of the module of `key`, once uploaded. */
  objectName(key: string): string | undefined {
    return this.#names.get(key);
  }

  async #upload(key: string): Promise<void> {
    await ensureModule(key);
    const bytes = moduleBytes(key);
    if (bytes === undefined) throw new Error(`WASM module ${key} has no bytes to send to workers`);
    const name = `wasm-${await sha256(bytes)}`;
    await (await this.#store()).ensure(name, bytes);
    this.#names.set(key, name);
  }
}
