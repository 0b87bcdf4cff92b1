/**
 * Transfer lists: checking them, and the marker `transfer()` wraps a map
 * item in. A marked item travels as its value, with its transferables moved
 * (detached in the caller) instead of cloned.
 *
 * @module
 */

import { describe } from "./task.ts";

/** An item marked by `transfer()`: its value, and what to move with it. */
export class Transferred {
  readonly value: unknown;
  readonly transfer: readonly Transferable[];

  constructor(value: unknown, transfer: readonly Transferable[]) {
    this.value = value;
    this.transfer = transfer;
  }
}

/**
 * Checks a transfer list: an array of `ArrayBuffer`s (not detached, not
 * shared) and `MessagePort`s, none listed twice.
 *
 * @throws {TypeError} naming `name[i]` and what is wrong with it.
 */
export function checkTransferables(list: unknown, name: string): Transferable[] {
  if (!Array.isArray(list)) {
    throw new TypeError(
      `Option ${name} must be an array of ArrayBuffers or MessagePorts, got ${describe(list)}`,
    );
  }
  const seen = new Set<unknown>();
  list.forEach((entry, i) => {
    if (entry instanceof ArrayBuffer) {
      if (entry.detached) {
        throw new TypeError(`${name}[${i}] is a detached ArrayBuffer: it was transferred already`);
      }
    } else if (!(entry instanceof MessagePort)) {
      const shared = typeof SharedArrayBuffer === "function" && entry instanceof SharedArrayBuffer;
      throw new TypeError(
        `${name}[${i}] cannot be transferred: expected an ArrayBuffer or a MessagePort, got ${
          shared
            ? "a SharedArrayBuffer (it is shared with workers without a transfer)"
            : describe(entry)
        }`,
      );
    }
    if (seen.has(entry)) throw new TypeError(`${name}[${i}] is listed twice`);
    seen.add(entry);
  });
  return list as Transferable[];
}

/** What moves with `value` by default: the buffer of an ArrayBuffer or a typed array. */
export function defaultTransferables(value: unknown): Transferable[] | undefined {
  if (value instanceof ArrayBuffer) return [value];
  if (ArrayBuffer.isView(value)) return value.buffer instanceof ArrayBuffer ? [value.buffer] : [];
  return undefined;
}

/**
 * Replaces the marked items of `items` by their values; returns the new
 * items and what to move, or `undefined` when no item is marked.
 *
 * @throws {TypeError} naming the item whose buffer was transferred already.
 */
export function unwrapTransfers(
  items: readonly unknown[],
  name: (index: number) => string,
): { items: unknown[]; transfer: Transferable[] } | undefined {
  let unwrapped: unknown[] | undefined;
  let moved: Set<Transferable> | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item !== "object" || item === null || !(item instanceof Transferred)) continue;
    unwrapped ??= items.slice();
    moved ??= new Set();
    unwrapped[i] = item.value;
    for (const entry of item.transfer) {
      if (entry instanceof ArrayBuffer && entry.detached && !moved.has(entry)) {
        throw new TypeError(
          `Argument ${name(i)} holds a detached ArrayBuffer: it was transferred already`,
        );
      }
      moved.add(entry);
    }
  }
  return unwrapped === undefined ? undefined : { items: unwrapped, transfer: [...moved!] };
}
