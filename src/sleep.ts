/**
 * {@linkcode sleep}: an abortable delay that leaves no timer behind.
 *
 * @module
 */

import { optionalSignal } from "./_validate.ts";
import { checkDelay } from "./_wait.ts";

/**
 * Options of {@linkcode sleep}.
 *
 * @example
 * ```ts
 * import { sleep, type SleepOptions } from "@multipool/multipool";
 * const options: SleepOptions = { signal: AbortSignal.timeout(1_000) };
 * await sleep(10, options);
 * ```
 */
export interface SleepOptions {
  /** Aborting it clears the timer and rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/**
 * Resolves after `ms` milliseconds (`gevent.sleep`). With a `signal`, an
 * abort clears the timer and rejects with `signal.reason`; an already
 * aborted signal rejects at once. `sleep(Infinity, { signal })` waits until
 * the abort (without a signal, `Infinity` is a `RangeError`). Bad arguments
 * reject with a `TypeError` or `RangeError`; it never throws.
 *
 * @example
 * ```ts
 * import { sleep } from "@multipool/multipool";
 * await sleep(5);
 * const controller = new AbortController();
 * const nap = sleep(60_000, { signal: controller.signal });
 * controller.abort(new Error("wake up"));
 * await nap.catch((e) => console.log(e.message)); // "wake up"
 * ```
 */
export async function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  checkDelay(ms, "ms");
  const signal = optionalSignal(options.signal, "options.signal");
  if (!signal) {
    if (ms === Infinity) {
      throw new RangeError(
        "Argument ms is Infinity without options.signal: the sleep could never end",
      );
    }
    return await new Promise((resolve) => setTimeout(resolve, ms));
  }
  signal.throwIfAborted();
  return await new Promise((resolve, reject) => {
    const timer = ms === Infinity ? undefined : setTimeout(done, ms);
    function done(): void {
      signal!.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
