/**
 * What travels between a NATS pool's callers and its remote workers: the
 * names of its stream, consumer, subjects and bucket, the messages (chunks,
 * results, cancels, presence) and their codec. Values are encoded with
 * `node:v8` `serialize`, which keeps the structured-clone model the local
 * backends have (typed arrays, Map, Set, BigInt, Date...).
 *
 * A pool `P` uses:
 *
 * | name | what |
 * | --- | --- |
 * | stream `MULTIPOOL_P` | work queue (retention `workqueue`) of subjects `multipool.P.work.*` |
 * | subject `multipool.P.work.<caller>` | one message per chunk, published by a caller |
 * | consumer `workers` | the one durable pull consumer that every worker pulls from |
 * | subject `multipool.P.result.<caller>` | results (core NATS), published by workers before they ack |
 * | subject `multipool.P.cancel` | cancels (core NATS): workers stop the chunks named |
 * | subject `multipool.P.presence` | workers' heartbeats (core NATS): who is alive, how busy |
 * | bucket `multipool_P` | Object Store: payloads over the server's `max_payload`, WASM modules |
 *
 * @module
 */

import { deserialize } from "node:v8";
import { type ChunkItems, type ErrorData, type TaskSpec, toErrorData } from "./_protocol.ts";
import { fromErrorData, RemoteError, TaskTimeoutError, WorkerCrashedError } from "./errors.ts";
import { serializeUnshared } from "./_unshared.ts";

/** Bumped when a message shape changes: a worker refuses chunks of another version. */
export const WIRE_VERSION = 1;

/** A pool name: what may appear in a stream name and a subject token. */
export const POOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The names a pool's stream, subjects and bucket go by; see the module doc. */
export interface PoolNames {
  readonly pool: string;
  readonly stream: string;
  readonly consumer: string;
  readonly workSubjects: string;
  readonly cancel: string;
  readonly presence: string;
  readonly bucket: string;
  /** What the server publishes when a chunk used up its deliveries. */
  readonly maxDeliveries: string;
  /** What the server publishes when the consumer is deleted (with its stream, or alone). */
  readonly consumerDeleted: string;
  work(caller: string): string;
  result(caller: string): string;
}

/** The names of pool `pool` (a checked {@linkcode POOL_NAME}). */
export function poolNames(pool: string): PoolNames {
  const stream = `MULTIPOOL_${pool}`;
  const consumer = "workers";
  return {
    pool,
    stream,
    consumer,
    workSubjects: `multipool.${pool}.work.*`,
    cancel: `multipool.${pool}.cancel`,
    presence: `multipool.${pool}.presence`,
    bucket: `multipool_${pool}`,
    maxDeliveries: `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`,
    consumerDeleted: `$JS.EVENT.ADVISORY.CONSUMER.DELETED.${stream}.${consumer}`,
    work: (caller) => `multipool.${pool}.work.${caller}`,
    result: (caller) => `multipool.${pool}.result.${caller}`,
  };
}

/** A chunk on the work queue. */
export interface WorkMessage {
  readonly v: number;
  /** The caller (one per executor): results go to `result(caller)`, cancels name it. */
  readonly caller: string;
  readonly id: number;
  readonly spec: TaskSpec;
  readonly star: boolean;
  /** The items, or absent when they are in the Object Store under `object`. */
  readonly items?: ChunkItems;
  /** Object Store name of the encoded items, for a chunk over the server's payload limit. */
  readonly object?: string;
  /** Object Store name of the WASM module a `wasm` spec needs. */
  readonly wasm?: string;
}

/** How a chunk ended, as a worker reports it. */
export type ResultMessage =
  | {
    readonly v: number;
    readonly id: number;
    readonly worker: string;
    readonly ok: true;
    readonly results: ArrayLike<unknown>;
  }
  | {
    readonly v: number;
    readonly id: number;
    readonly worker: string;
    readonly ok: false;
    readonly error: WireError;
    readonly partial?: ArrayLike<unknown> | undefined;
  }
  /** A result over the payload limit: the whole result message is in the Object Store. */
  | { readonly v: number; readonly id: number; readonly worker: string; readonly object: string };

/** A cancel: the chunks `ids` of `caller` are no longer wanted. */
export interface CancelMessage {
  readonly caller: string;
  readonly ids: readonly number[];
}

/** A worker's heartbeat on the presence subject. */
export interface PresenceMessage {
  readonly worker: string;
  readonly concurrency: number;
  /** Chunks it holds (running or about to). */
  readonly running: number;
  /** Chunks it finished so far. */
  readonly ran: number;
  /** Milliseconds until its next heartbeat. */
  readonly interval: number;
  /** Sent once as it stops. */
  readonly gone?: boolean;
}

/** An error as it travels: which multipool error it was, and what the task threw. */
export interface WireError {
  /** `RemoteError`, `WorkerCrashedError`, `TaskTimeoutError`, or another error's name. */
  readonly kind: string;
  readonly message: string;
  /** For a `RemoteError`, the error the task threw; else the error's own cause. */
  readonly cause?: ErrorData | undefined;
}

/**
 * Encodes `value` (structured-clone values only; a `SharedArrayBuffer`, or
 * a view over one, travels as a copy of its bytes).
 */
export function encode(value: unknown): Uint8Array {
  return serializeUnshared(value);
}

/** Decodes what {@linkcode encode} made. */
export function decode<T>(bytes: Uint8Array): T {
  return deserialize(bytes) as T;
}

/** Flattens an error of a chunk's outcome for the wire. */
export function toWireError(error: unknown): WireError {
  if (error instanceof RemoteError) {
    return { kind: "RemoteError", message: error.message, cause: toErrorData(error.cause) };
  }
  if (error instanceof Error) {
    return {
      kind: error.name,
      message: error.message,
      cause: error.cause === undefined ? undefined : toErrorData(error.cause),
    };
  }
  return { kind: "RemoteError", message: String(error), cause: toErrorData(error) };
}

/**
 * Rebuilds the error a worker reported: a `RemoteError` (what the task
 * threw as its `cause`), `WorkerCrashedError` or `TaskTimeoutError` as on
 * a local pool; anything else becomes a `RemoteError`.
 */
export function fromWireError(wire: WireError): Error {
  const options = wire.cause === undefined ? undefined : { cause: fromErrorData(wire.cause) };
  switch (wire.kind) {
    case "RemoteError": {
      const error = new RemoteError(wire.cause ?? { name: "Error", message: wire.message });
      error.message = wire.message;
      return error;
    }
    case "WorkerCrashedError":
      return new WorkerCrashedError(wire.message, options);
    case "TaskTimeoutError":
      return new TaskTimeoutError(wire.message, options);
    default:
      return new RemoteError({ name: wire.kind, message: wire.message, ...wire.cause });
  }
}

/** What the reply subject of a JetStream message says about its delivery. */
export interface Delivery {
  /** 1 for the first delivery. */
  readonly count: number;
  readonly streamSeq: number;
}

/**
 * Parses an ack subject `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>...`
 * (the 9-token form, or the 11+ token form with domain and account hash);
 * `undefined` for anything else.
 */
export function parseDelivery(reply: string | undefined): Delivery | undefined {
  if (reply === undefined) return undefined;
  const tokens = reply.split(".");
  if (tokens[0] !== "$JS" || tokens[1] !== "ACK") return undefined;
  const at = tokens.length === 9 ? 4 : tokens.length >= 11 ? 6 : -1;
  if (at < 0) return undefined;
  const count = Number(tokens[at]);
  const streamSeq = Number(tokens[at + 1]);
  if (!Number.isInteger(count) || !Number.isInteger(streamSeq)) return undefined;
  return { count, streamSeq };
}

/** Parses a duration flag or option: milliseconds as a number, or `"500ms"`, `"2s"`, `"1m"`. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? value : undefined;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (match === null) return undefined;
  const n = Number(match[1]) * (match[2] === "s" ? 1000 : match[2] === "m" ? 60_000 : 1);
  return n > 0 ? n : undefined;
}
