/**
 * Argument checks shared by Pool, Process and Group: each throws a
 * `TypeError` or `RangeError` that names the argument and what was expected.
 *
 * @module
 */

import { firstNonNumber } from "./_protocol.ts";
import { describe } from "./task.ts";
import { Transferred } from "./_transfer.ts";

/** Throws unless `value` is undefined or an integer >= `min`. */
export function optionalInteger(value: unknown, name: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    const expected = min === 1 ? "a positive integer" : `an integer >= ${min}`;
    throw new RangeError(`Option ${name} must be ${expected}, got ${describe(value)}`);
  }
  return value;
}

/** Reads a concurrency limit: an integer >= `min`, `Infinity`, or `undefined` (not given). */
export function optionalLimit(value: unknown, name: string, min = 1): number | undefined {
  return value === Infinity ? Infinity : optionalInteger(value, name, min);
}

/** Throws unless `value` is undefined or a number of milliseconds > 0 (Infinity allowed). */
export function optionalTimeout(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !(value > 0)) {
    throw new RangeError(
      `Option ${name} must be a number of milliseconds > 0, got ${describe(value)}`,
    );
  }
  return value === Infinity ? undefined : value;
}

/** Throws unless `value` is undefined or an `AbortSignal`. */
export function optionalSignal(value: unknown, name = "signal"): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw new TypeError(`Option ${name} must be an AbortSignal, got ${describe(value)}`);
}

/** Throws unless `value` is undefined or a function. */
export function optionalFunction<F>(value: F | undefined, name: string): F | undefined {
  if (value === undefined || typeof value === "function") return value;
  throw new TypeError(`Option ${name} must be a function, got ${describe(value)}`);
}

/** Throws unless `value` is an `Iterable` or `AsyncIterable`. */
export function iterable(value: unknown, name: string): Iterable<unknown> | AsyncIterable<unknown> {
  if (
    value !== null && (typeof value === "object" || typeof value === "string") &&
    (Symbol.iterator in Object(value) || Symbol.asyncIterator in Object(value))
  ) {
    return value as Iterable<unknown> | AsyncIterable<unknown>;
  }
  throw new TypeError(
    `Argument ${name} must be an Iterable or AsyncIterable, got ${describe(value)}`,
  );
}

/** Throws unless `value` is an array (an argument tuple). */
export function argumentTuple(value: unknown, name: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw new TypeError(`Argument ${name} must be an array of arguments, got ${describe(value)}`);
}

function isPlainPrimitive(value: unknown): boolean {
  const type = typeof value;
  return value === null || type === "number" || type === "string" || type === "boolean" ||
    type === "undefined" || type === "bigint";
}

/**
 * Throws a `TypeError` naming `name` unless `value` can be structured-cloned
 * to a worker. Primitives, arrays of primitives, typed arrays and buffers
 * (shared or not) pass without a trial clone: a big argument is not copied
 * to be checked.
 */
export function cloneable(value: unknown, name: string): void {
  if (
    isPlainPrimitive(value) || value instanceof ArrayBuffer || ArrayBuffer.isView(value) ||
    value instanceof SharedArrayBuffer
  ) return;
  if (typeof value === "function" || typeof value === "symbol") {
    throw new TypeError(`Argument ${name} is a ${typeof value}, which cannot be sent to a worker`);
  }
  if (Array.isArray(value) && value.every(isPlainPrimitive)) return;
  try {
    structuredClone(value);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TypeError(`Argument ${name} cannot be sent to a worker: ${reason}`);
  }
}

/** Checks every element of an argument tuple with {@linkcode cloneable}. */
export function cloneableTuple(args: readonly unknown[], name: string): void {
  for (let i = 0; i < args.length; i++) {
    // Most arguments are plain values: no name to build for them.
    if (!isPlainPrimitive(args[i])) cloneable(args[i], `${name}[${i}]`);
  }
}

/** Whether every element of `args` is a plain primitive (nothing to unwrap, check or move). */
export function plainTuple(args: readonly unknown[]): boolean {
  for (let i = 0; i < args.length; i++) if (!isPlainPrimitive(args[i])) return false;
  return true;
}

/**
 * The check of each item of a map (`star`: an argument tuple of cloneable
 * values; else one cloneable value), naming it `iterable[index]`.
 */
export function itemCheck(star: boolean): (item: unknown, index: number) => void {
  if (star) {
    return (item, index) => {
      const value = item instanceof Transferred ? item.value : item;
      if (!Array.isArray(value) || !value.every(isPlain)) {
        cloneableTuple(argumentTuple(value, `iterable[${index}]`), `iterable[${index}]`);
      }
    };
  }
  return (item, index) => {
    if (isPlain(item)) return;
    cloneable(item instanceof Transferred ? item.value : item, `iterable[${index}]`);
  };
}

function isPlain(value: unknown): boolean {
  return typeof value === "number" || typeof value === "string" || typeof value === "boolean";
}

/**
 * Checks every item of an array source with `check`; plain numbers need
 * none unless they must be argument tuples (`numbers` false).
 */
export function checkArray(
  items: readonly unknown[],
  check: (item: unknown, index: number) => void,
  numbers: boolean,
): void {
  const end = items.length;
  if (!numbers) {
    for (let i = 0; i < end; i++) check(items[i], i);
    return;
  }
  for (let i = firstNonNumber(items, 0, end); i < end; i = firstNonNumber(items, i + 1, end)) {
    check(items[i], i);
  }
}
