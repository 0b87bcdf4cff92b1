/**
 * The facade's checks of a call's arguments, and the requests they make:
 * an `apply` becomes a one-chunk {@linkcode ChunkRequest}, a `map` or an
 * `imap` a {@linkcode MapCall}. Every bad argument throws a `TypeError` or
 * `RangeError` naming it. A call of plain values without options (most
 * `apply`s) takes a path that builds its request straight away.
 *
 * @module
 */

import type { MapCall } from "./_calls.ts";
import type { ChunkRequest } from "./_scheduler.ts";
import { checkTransferables, unwrapTransfers } from "./_transfer.ts";
import {
  argumentTuple,
  cloneableTuple,
  itemCheck,
  iterable,
  optionalInteger,
  optionalSignal,
  optionalTimeout,
  plainTuple,
} from "./_validate.ts";
import type { ApplyOptions, CallOptions, MapOptions } from "./pool_options.ts";
import { toTaskSpec } from "./task.ts";

/** The options of a call given none (told apart from `{}` by identity: the fast path of `apply`). */
export const NO_OPTIONS: ApplyOptions = Object.freeze({});

/** A map call's arguments other than its options. */
export interface MapArguments {
  readonly task: unknown;
  readonly source: unknown;
  /** Each item is an argument tuple (`starmap`). */
  readonly star: boolean;
}

/** Checks calls against a pool's defaults (its `taskTimeout`). */
export class CallChecks {
  readonly #taskTimeout: number | undefined;

  constructor(taskTimeout: number | undefined) {
    this.#taskTimeout = taskTimeout;
  }

  /**
   * The request of `apply(task, args, options)`.
   *
   * @throws {TypeError | RangeError} for a bad argument, naming it.
   */
  apply(task: unknown, args: unknown, options: ApplyOptions): ChunkRequest {
    const spec = toTaskSpec(task);
    if (options === NO_OPTIONS && Array.isArray(args) && plainTuple(args)) {
      // The common call: no options, plain values, nothing to unwrap, check or move.
      return { spec, items: [args], star: true, signal: undefined, timeout: this.#taskTimeout };
    }
    const call = this.#callOptions(options);
    const given = argumentTuple(args, "args");
    const marked = unwrapTransfers(given, (i) => `args[${i}]`);
    const tuple = marked?.items ?? given;
    cloneableTuple(tuple, "args");
    const listed = options.transfer === undefined
      ? undefined
      : checkTransferables(options.transfer, "transfer");
    const transfer = listed === undefined || marked === undefined
      ? listed ?? marked?.transfer
      : [...new Set([...listed, ...marked.transfer])];
    return { spec, items: [tuple], star: true, ...call, transfer };
  }

  /**
   * The call of a `map`, `starmap` or `imap` (its items are checked as they are pulled).
   *
   * @throws {TypeError | RangeError} for a bad argument, naming it.
   */
  map(call: MapArguments, options: MapOptions): MapCall {
    return {
      spec: toTaskSpec(call.task),
      source: iterable(call.source, "iterable"),
      star: call.star,
      chunksize: optionalInteger(options?.chunksize, "chunksize"),
      ...this.#callOptions(options),
      check: itemCheck(call.star),
    };
  }

  #callOptions(options: CallOptions): Pick<ChunkRequest, "signal" | "timeout"> {
    if (options === null || typeof options !== "object") {
      throw new TypeError("Argument options must be an object");
    }
    return {
      signal: optionalSignal(options.signal),
      timeout: optionalTimeout(options.timeout, "timeout") ?? this.#taskTimeout,
    };
  }
}
