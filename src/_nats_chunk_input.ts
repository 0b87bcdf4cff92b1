/**
 * From a chunk as it arrives at a remote worker to a chunk its local
 * scheduler can run: the worker's own checks (inline code only with
 * `--allow-inline`; a `file:` task module must exist on this machine),
 * items fetched from the Object Store when they were too large for a
 * message, a WASM module fetched once and registered under a key of its
 * own, and task specs interned (the local workers are sent each distinct
 * spec object once).
 *
 * @module
 */

import type { PayloadStore } from "./_nats_store.ts";
import { decode, WIRE_VERSION, type WorkMessage } from "./_nats_wire.ts";
import type { ChunkItems, TaskSpec } from "./_protocol.ts";
import { addModule } from "./_wasm_registry.ts";
import { RemoteError } from "./errors.ts";

/** Distinct specs kept before the cache starts over. */
const SPEC_CACHE_SIZE = 4096;

/** What the local scheduler runs. */
export interface LocalChunk {
  readonly spec: TaskSpec;
  readonly items: ChunkItems;
}

/** See the module doc. */
export class ChunkInput {
  readonly #store: PayloadStore;
  readonly #worker: string;
  readonly #allowInline: boolean;
  readonly #specs = new Map<string, TaskSpec>();
  readonly #wasm = new Map<string, Promise<string>>();
  readonly #files = new Set<string>();

  constructor(options: { store: PayloadStore; worker: string; allowInline: boolean }) {
    this.#store = options.store;
    this.#worker = options.worker;
    this.#allowInline = options.allowInline;
  }

  /**
   * The local chunk of `message`.
   *
   * @throws {RemoteError} for an inline task on a worker without
   * `--allow-inline`, or a `file:` module missing on this machine.
   */
  async load(message: WorkMessage): Promise<LocalChunk> {
    if (message.v !== WIRE_VERSION) {
      throw refusal(
        `Worker ${this.#worker} speaks wire version ${WIRE_VERSION}, the chunk version ${message.v}: ` +
          `run the same multipool version on callers and workers`,
      );
    }
    let spec = message.spec;
    if (spec.kind === "source" && !this.#allowInline) {
      throw refusal(
        `Inline tasks are refused by worker ${this.#worker}: start it with --allow-inline ` +
          `to run them, or use taskModule()`,
      );
    }
    if (spec.kind === "module" && spec.url.startsWith("file:")) await this.#checkFile(spec.url);
    if (spec.kind === "wasm") {
      if (message.wasm === undefined) throw refusal(`No WASM module came with ${spec.name}`);
      spec = { ...spec, key: await this.#wasmKey(message.wasm) };
    }
    const items = message.object === undefined
      ? message.items!
      : decode<ChunkItems>(await this.#store.get(message.object));
    return { spec: this.#intern(spec), items };
  }

  async #checkFile(url: string): Promise<void> {
    if (this.#files.has(url)) return;
    try {
      await Deno.stat(new URL(url));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) return; // The loader reports other problems.
      throw refusal(
        `Task module ${url} does not exist on worker ${this.#worker}: a file: URL must name a ` +
          `path that exists on every worker; serve the module over https: or publish it (jsr:, npm:)`,
      );
    }
    this.#files.add(url);
  }

  /** The local registry key of the WASM module stored as `object`, fetched and compiled once. */
  #wasmKey(object: string): Promise<string> {
    let key = this.#wasm.get(object);
    if (key === undefined) {
      key = this.#store.get(object).then(async (bytes) => {
        const local = `nats:${object}`;
        await addModule(local, bytes as Uint8Array<ArrayBuffer>, `WASM module ${object}`);
        return local;
      });
      this.#wasm.set(object, key);
      key.catch(() => this.#wasm.delete(object));
    }
    return key;
  }

  #intern(spec: TaskSpec): TaskSpec {
    const key = JSON.stringify(spec);
    const known = this.#specs.get(key);
    if (known !== undefined) return known;
    if (this.#specs.size >= SPEC_CACHE_SIZE) this.#specs.clear();
    this.#specs.set(key, spec);
    return spec;
  }
}

function refusal(message: string): RemoteError {
  const error = new RemoteError({ name: "Error", message });
  error.message = message;
  return error;
}
