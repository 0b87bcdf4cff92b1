/**
 * The chunks of one message a worker slot holds, in the order sent, until
 * each is answered: a map of id → wanted (`false` once cancelled: its
 * answer is dropped) over two arrays, because on the hot path of `apply`
 * a message holds one chunk and the answers come in the order sent, so
 * the chunk looked for is nearly always the first one left.
 *
 * @module
 */

/** See the module doc. */
export class FlightChunks {
  readonly #ids: number[];
  /** Per index: wanted, cancelled, or answered (`undefined`). */
  readonly #wanted: (boolean | undefined)[];
  /** The first index not answered. */
  #head = 0;
  #size: number;

  /** Holds `ids`, all wanted. */
  constructor(ids: number[]) {
    this.#ids = ids;
    this.#wanted = new Array<boolean | undefined>(ids.length).fill(true);
    this.#size = ids.length;
  }

  /** Chunks not answered yet. */
  get size(): number {
    return this.#size;
  }

  /** Whether `id` is held (not answered yet). */
  has(id: number): boolean {
    return this.#at(id) >= 0;
  }

  /** Whether `id`'s answer is wanted; `undefined` when it is not held. */
  get(id: number): boolean | undefined {
    const at = this.#at(id);
    return at < 0 ? undefined : this.#wanted[at];
  }

  /** `id` was cancelled: its answer will be dropped. */
  cancel(id: number): void {
    const at = this.#at(id);
    if (at >= 0) this.#wanted[at] = false;
  }

  /** `id` was answered (or skipped): it is no longer held. */
  delete(id: number): void {
    const at = this.#at(id);
    if (at < 0) return;
    this.#wanted[at] = undefined;
    this.#size--;
    while (this.#head < this.#ids.length && this.#wanted[this.#head] === undefined) this.#head++;
  }

  /** The first chunk held (the oldest not answered), or `undefined`. */
  first(): number | undefined {
    return this.#size === 0 ? undefined : this.#ids[this.#head];
  }

  /** Whether the first chunk held is wanted (`false` when none is held). */
  firstWanted(): boolean {
    return this.#size > 0 && this.#wanted[this.#head] === true;
  }

  /** The chunks held, in the order sent, with whether each is wanted. */
  *[Symbol.iterator](): IterableIterator<[id: number, wanted: boolean]> {
    for (let i = this.#head; i < this.#ids.length; i++) {
      const wanted = this.#wanted[i];
      if (wanted !== undefined) yield [this.#ids[i], wanted];
    }
  }

  #at(id: number): number {
    const ids = this.#ids;
    for (let i = this.#head; i < ids.length; i++) {
      if (ids[i] === id) return this.#wanted[i] === undefined ? -1 : i;
    }
    return -1;
  }
}
