/**
 * Helpers of the Group, Job and timer test suites.
 *
 * @module
 */

import { sleep } from "../src/sleep.ts";

/**
 * Runs `fn`, waits `settleMs` more, and returns how many unhandled promise
 * rejections happened meanwhile (they are counted, not left to fail the run).
 */
export async function unhandledRejectionsDuring(
  fn: () => Promise<void>,
  settleMs = 10,
): Promise<number> {
  let unhandled = 0;
  const count = (event: PromiseRejectionEvent) => {
    unhandled++;
    event.preventDefault();
  };
  globalThis.addEventListener("unhandledrejection", count);
  try {
    await fn();
    await sleep(settleMs);
    return unhandled;
  } finally {
    globalThis.removeEventListener("unhandledrejection", count);
  }
}
