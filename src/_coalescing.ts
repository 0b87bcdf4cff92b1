/**
 * Coalescing: which queued chunks travel together in one message. Each
 * task's cost per item is measured as its chunks run (a moving average);
 * consecutive small chunks of one task at the front of the queue are
 * grouped into a message expected to run about {@linkcode BATCH_TARGET_MS}.
 * A task not timed yet, and a chunk with a timeout (its clock must start
 * when it does, not with its message), travel alone.
 *
 * @module
 */

import type { Deque } from "./_deque.ts";
import type { ChunkItems, TaskSpec } from "./_protocol.ts";

/** Most items coalesced into one message. */
export const MAX_BATCH_ITEMS = 256;
/** Small calls are coalesced into messages that should run about this long. */
export const BATCH_TARGET_MS = 0.5;

/** What coalescing needs to know of a chunk. */
export interface Coalescible {
  readonly spec: TaskSpec;
  readonly star: boolean;
  readonly items: ChunkItems;
  readonly timeout: number | undefined;
}

/** Measured costs per task, and the grouping they allow. */
export class Costs {
  /** Milliseconds per item of each task, a moving average. */
  readonly #perItem = new WeakMap<TaskSpec, { ms: number }>();
  /** The task looked up last, and its entry: most calls in a row are of one task. */
  #last: { spec: TaskSpec | undefined; cost: { ms: number } | undefined } = {
    spec: undefined,
    cost: undefined,
  };

  /** How long `items` items of `spec` should take, or `undefined` when not known yet. */
  expected(spec: TaskSpec, items: number): number | undefined {
    const cost = this.#cost(spec);
    return cost === undefined ? undefined : cost.ms * items;
  }

  /** Records that a message of `items` items of `spec` ran `ms`. */
  measure(spec: TaskSpec, items: number, ms: number): void {
    const perItem = ms / Math.max(1, items);
    const cost = this.#cost(spec);
    if (cost !== undefined) {
      cost.ms = 0.75 * cost.ms + 0.25 * perItem;
      return;
    }
    const made = { ms: perItem };
    this.#perItem.set(spec, made);
    this.#last = { spec, cost: made };
  }

  #cost(spec: TaskSpec): { ms: number } | undefined {
    const last = this.#last;
    if (last.spec === spec) return last.cost;
    const cost = this.#perItem.get(spec);
    this.#last = { spec, cost };
    return cost;
  }

  /** The chunks at the front of `queue` to send together (at least the first). */
  batch<C extends Coalescible>(queue: Deque<C>): C[] {
    const head = queue.peek()!;
    const cost = this.#cost(head.spec);
    const limit = cost === undefined || head.timeout !== undefined
      ? 1
      : Math.min(MAX_BATCH_ITEMS, Math.floor(BATCH_TARGET_MS / Math.max(cost.ms, 1e-6)));
    const batch = [head];
    let items = head.items.length;
    for (let i = 1; i < queue.length && items < limit; i++) {
      const chunk = queue.at(i)!;
      if (chunk.spec !== head.spec || chunk.star !== head.star || chunk.timeout !== undefined) {
        break;
      }
      items += chunk.items.length;
      if (items > limit) break;
      batch.push(chunk);
    }
    return batch;
  }
}
