/**
 * Worker side, shared by every worker entry (Web Worker, `node:worker_threads`
 * thread, subprocess): reports the ways a worker can go away that the host
 * may not see itself — `close()`, `Deno.exit()` (with its code), uncaught
 * errors and unhandled rejections in timers and stray promises, a heap
 * limit reached — as one `exit` message, and ends the worker on request
 * ({@linkcode ExitWatch.retire}) the way a program that returns does, so
 * that exit handlers (`unload` listeners) run.
 *
 * @module
 */

import { controlOf, type ErrorData, toErrorData, type ToWorker } from "./_protocol.ts";
import type { Runtime } from "./_worker_runtime.ts";
import type { Post } from "./_worker_runner.ts";

/** Why a worker goes away, as the `exit` message says. */
export type ExitReason = "close" | "exit" | "uncaught" | "oom";

/** What {@linkcode watchExits} returns. */
export interface ExitWatch {
  /** Tells the host the worker is going away; only the first report counts. */
  report(reason: ExitReason, error?: ErrorData, code?: number): void;
  /** Ends the worker with `Deno.exit()` after every exit handler, its own report last. */
  retire(): void;
  /** The runtime's `handle`, with the host's `exit` request answered by {@linkcode ExitWatch.retire}. */
  route(handle: (message: ToWorker) => void): (message: ToWorker) => void;
}

/** Options of {@linkcode watchExits}. */
export interface WatchExitsOptions {
  /** Called after an uncaught error was reported (a subprocess exits with code 1). */
  readonly afterUncaught?: (() => void) | undefined;
}

/**
 * Installs the hooks; call before anything can await. An exit report comes
 * after the answers the runtime has, and names the chunks the worker ends
 * with (see `Runtime.halt`).
 */
export function watchExits(
  post: Post,
  runtime: Runtime,
  options: WatchExitsOptions = {},
): ExitWatch {
  let exiting = false;
  const report = (reason: ExitReason, error?: ErrorData, code?: number) => {
    if (exiting) return;
    exiting = true;
    const held = runtime.halt();
    post({
      type: "exit",
      reason,
      held,
      ...(error === undefined ? {} : { error }),
      ...(code === undefined ? {} : { code }),
    });
  };
  const scope = globalThis as unknown as { close?: () => void };
  const realClose = scope.close?.bind(scope);
  if (realClose !== undefined) {
    scope.close = () => {
      report("close");
      realClose();
    };
  }
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    report("uncaught", toErrorData(event.error ?? event.message));
    options.afterUncaught?.();
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    report("uncaught", toErrorData(event.reason));
    options.afterUncaught?.();
  });
  // Deno.exit() (and node:process exit()) fires "unload" here, while posting still works; in a
  // Web Worker it fires no event in the parent at all.
  const onUnload = () => report("exit", undefined, exitCode());
  globalThis.addEventListener("unload", onUnload);
  return {
    report,
    retire() {
      // Listeners run in the order they were added: re-added, the report comes after the
      // handlers the tasks registered.
      globalThis.removeEventListener("unload", onUnload);
      globalThis.addEventListener("unload", onUnload);
      Deno.exit();
    },
    route(handle) {
      return (message) => {
        if (controlOf(message)?.type === "exit") {
          this.retire();
        } else handle(message);
      };
    },
  };
}

function exitCode(): number | undefined {
  return (Deno as { exitCode?: number }).exitCode;
}
