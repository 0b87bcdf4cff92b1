/**
 * One test for "is this a promise-like?", shared by the worker bootstrap and
 * the Group side.
 *
 * @module
 */

/** Whether `value` has a callable `then`. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}
