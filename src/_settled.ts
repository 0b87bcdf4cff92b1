/**
 * The one implementation of a settled-or-not handle: what `Job` and
 * `AsyncResult` both are underneath (`ready`, `successful`, `value`,
 * `error`, `get(timeout)`, `wait(timeout)`, awaitable). Both delegate to a
 * {@linkcode Settled}; only their names in messages differ.
 *
 * @module
 */

import { TimeoutError } from "./errors.ts";
import type { JoinOptions } from "./timeout.ts";
import { settlesWithin, waitTimeout } from "./_wait.ts";

/** Where a handle stands: pending, or settled one way with what it settled with. */
export type Outcome<T> =
  | { readonly state: "pending" }
  | { readonly state: "fulfilled"; readonly value: T }
  | { readonly state: "rejected"; readonly error: unknown };

const PENDING: Outcome<never> = { state: "pending" };

/** A promise with its resolvers, as methods: `Settled<T>` (and `Job<T>`) stay covariant in `T`. */
interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * An outcome that settles once, with a promise made only when someone
 * waits: a rejection nobody waits for is never an unhandled rejection.
 */
export class Settled<T> {
  /** Names the handle in messages: "Job", "Result". */
  readonly #subject: string;
  #outcome: Outcome<T> = PENDING;
  #deferred: Deferred<T> | undefined;

  /** `subject` names the handle in error messages ("Job is not ready ..."). */
  constructor(subject: string) {
    this.#subject = subject;
  }

  /** Whether it has settled, either way. */
  ready(): boolean {
    return this.#outcome.state !== "pending";
  }

  /** Whether it fulfilled; throws an `Error` while pending (Python's `successful()`). */
  successful(): boolean {
    if (this.#outcome.state === "pending") {
      throw new Error(`${this.#subject} is not ready: call successful() once ready() is true`);
    }
    return this.#outcome.state === "fulfilled";
  }

  /** The value once fulfilled, else `undefined`. */
  get value(): T | undefined {
    return this.#outcome.state === "fulfilled" ? this.#outcome.value : undefined;
  }

  /** The error once rejected, else `undefined`. */
  get error(): unknown {
    return this.#outcome.state === "rejected" ? this.#outcome.error : undefined;
  }

  /** Settles with `value`; false (and nothing changes) when already settled. */
  fulfill(value: T): boolean {
    if (this.ready()) return false;
    this.#outcome = { state: "fulfilled", value };
    this.#deferred?.resolve(value);
    return true;
  }

  /** Settles with `error`; false (and nothing changes) when already settled. */
  reject(error: unknown): boolean {
    if (this.ready()) return false;
    this.#outcome = { state: "rejected", error };
    this.#deferred?.reject(error);
    return true;
  }

  /** A promise of the outcome, made on first use (callers always attach handlers). */
  promise(): Promise<T> {
    if (this.#deferred) return this.#deferred.promise;
    const deferred = this.#deferred = Promise.withResolvers<T>();
    const outcome = this.#outcome;
    if (outcome.state === "fulfilled") deferred.resolve(outcome.value);
    else if (outcome.state === "rejected") deferred.reject(outcome.error);
    return deferred.promise;
  }

  /**
   * Waits until settled, at most `timeout` ms (`0`: do not wait); resolves
   * with `ready()`. Rejects only a bad `timeout`.
   */
  async wait(timeout?: number | JoinOptions): Promise<boolean> {
    const ms = waitTimeout(timeout);
    return this.ready() || await settlesWithin(this.promise(), ms);
  }

  /**
   * Resolves with the value or rejects with the error; rejects with a
   * {@linkcode TimeoutError} when not settled within `timeout` ms.
   */
  async get(timeout?: number | JoinOptions): Promise<T> {
    const ms = waitTimeout(timeout);
    if (!this.ready() && !await settlesWithin(this.promise(), ms)) {
      throw new TimeoutError(`${this.#subject} did not finish within ${ms} ms`);
    }
    return await this.promise();
  }
}
