/**
 * {@linkcode transfer}: move an item's buffers to the worker instead of
 * copying them.
 *
 * @module
 */

import { checkTransferables, defaultTransferables, Transferred } from "./_transfer.ts";
import { describe } from "./task.ts";

/**
 * Marks an item of `map`, `starmap`, `imap` or `imapUnordered` so that its
 * `transferables` are moved to the worker instead of copied, as with
 * `structuredClone(value, { transfer })`: a 64 MB array moves in well under
 * a millisecond, where a copy takes about a hundred. For an `ArrayBuffer` or
 * a typed array, `transferables` defaults to the value's own buffer. A moved
 * buffer is detached in the caller: it is empty there afterwards. (For a
 * single call, use the `transfer` option of `apply`.) On the process and
 * NATS backends a transfer is a copy, and the buffer stays usable.
 *
 * The result is typed as `value`, so marked items fit where plain ones do;
 * only a Pool unwraps it.
 *
 * @param value The item.
 * @param transferables What to move with it; default: the buffer of an `ArrayBuffer` or typed array.
 * @returns The marked item.
 * @throws {TypeError} when `transferables` is missing for another kind of value, or lists
 * something that cannot be transferred (a detached or shared buffer, a plain object) or twice.
 *
 * @example
 * ```ts
 * import { Pool, transfer } from "@multipool/multipool";
 * await using pool = new Pool({ size: 2 });
 * const blobs = [new Float64Array([1, 2]), new Float64Array([3, 4, 5])];
 * const lengths = await pool.map((a: Float64Array) => a.length, blobs.map((b) => transfer(b)));
 * console.log(lengths, blobs[0].length); // [2, 3] 0 (moved: detached here)
 * ```
 */
export function transfer<T>(
  value: T,
  transferables?: readonly (Transferable | ArrayBufferLike)[],
): T {
  const list = transferables === undefined
    ? defaultTransferables(value)
    : checkTransferables(transferables, "transferables");
  if (list === undefined) {
    throw new TypeError(
      `Argument transferables is required unless value is an ArrayBuffer or a typed array, got ${
        describe(value)
      }`,
    );
  }
  if (transferables === undefined) checkTransferables(list, "transferables");
  return new Transferred(value, list) as T;
}
