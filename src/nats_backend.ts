/**
 * `nats()`: the backend that runs a Pool's chunks on remote workers
 * through NATS JetStream. See `nats.ts` for the guide.
 *
 * @module
 */

import { type BackendSettings, CREATE_EXECUTOR, type PoolBackend } from "./backend.ts";
import type { ExecutorFactory } from "./_executor.ts";
import { NatsExecutor, type NatsExecutorSettings } from "./_nats_executor.ts";
import { POOL_NAME } from "./_nats_wire.ts";
import { describe } from "./task.ts";
import { optionalInteger, optionalTimeout } from "./_validate.ts";

/**
 * Options of {@linkcode nats}: where the server is, how to log in, which
 * pool of workers to use.
 *
 * @example
 * ```ts
 * import type { NatsOptions } from "@multipool/multipool/nats";
 * const options: NatsOptions = { servers: "nats://10.0.0.5:4222", pool: "render", token: "s3cret" };
 * console.log(options.pool); // "render"
 * ```
 */
export interface NatsOptions {
  /** NATS server URL(s), e.g. `"nats://10.0.0.5:4222"`; default `"nats://127.0.0.1:4222"`. */
  servers?: string | string[];
  /**
   * Name of the pool of workers (letters, digits, `_` and `-`): workers
   * started with the same `--pool` run its chunks. Default `"default"`.
   */
  pool?: string;
  /** Token authentication (the server's `authorization { token }`). */
  token?: string;
  /** User of user/password authentication. */
  user?: string;
  /** Password of `user`. */
  pass?: string;
  /** Path of a `.creds` file (user JWT and NKey seed, for decentralized auth). */
  credentials?: string;
  /** Client name, shown by the server's monitoring pages; default the pool's `name`. */
  name?: string;
  /**
   * Most chunks out on the work queue at once (published, no result yet);
   * more wait in the pool, where an abort or timeout drops them without a
   * trip to the server. Default 256.
   */
  maxInFlight?: number;
  /**
   * Milliseconds between the client's pings. A server that dies closes the
   * connection at once; a silent network failure is noticed within about
   * twice this. Default 10000.
   */
  pingInterval?: number;
}

/**
 * What {@linkcode nats} returns: pass it as a Pool's `backend`.
 *
 * @example
 * ```ts
 * import { nats, type NatsBackend } from "@multipool/multipool/nats";
 * const backend: NatsBackend = nats({ pool: "render" });
 * console.log(backend.kind, backend.pool); // "nats" "render"
 * ```
 */
export interface NatsBackend extends PoolBackend {
  /** Always `"nats"`. */
  readonly kind: "nats";
  /** The servers it connects to. */
  readonly servers: readonly string[];
  /** The pool of workers. */
  readonly pool: string;
}

/**
 * A backend that runs a Pool's chunks on remote workers (started with
 * `deno run -A jsr:@multipool/multipool/worker`) through a NATS JetStream
 * work queue. Nothing connects until a Pool uses it; each Pool opens its
 * own connection and closes it when it stops.
 *
 * @param options where the server is, how to log in, which pool to use.
 * @returns a backend for `new Pool({ backend })`.
 * @throws {TypeError | RangeError} for a bad option, naming it.
 *
 * @example
 * ```ts ignore
 * import { Pool, taskModule } from "jsr:@multipool/multipool";
 * import { nats } from "jsr:@multipool/multipool/nats";
 * const tasks = taskModule<{ square(x: number): number }>("https://example.com/tasks.ts");
 * await using pool = new Pool({ backend: nats({ servers: "nats://10.0.0.5:4222", pool: "default" }) });
 * console.log(await pool.map(tasks.square, [1, 2, 3])); // [1, 4, 9]
 * ```
 */
export function nats(options: NatsOptions = {}): NatsBackend {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Argument options must be an object, got ${describe(options)}`);
  }
  const servers = serverList(options.servers);
  const pool = options.pool ?? "default";
  if (typeof pool !== "string" || !POOL_NAME.test(pool)) {
    throw new RangeError(
      `Option pool must be 1 to 64 letters, digits, '_' or '-', got ${describe(pool)}`,
    );
  }
  for (const name of ["token", "user", "pass", "credentials", "name"] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== "string") {
      throw new TypeError(`Option ${name} must be a string, got ${describe(value)}`);
    }
  }
  if (options.pass !== undefined && options.user === undefined) {
    throw new TypeError("Option pass needs option user");
  }
  const settings: Omit<NatsExecutorSettings, "name"> = {
    servers,
    pool,
    token: options.token,
    user: options.user,
    pass: options.pass,
    credentials: options.credentials,
    maxInFlight: optionalInteger(options.maxInFlight, "maxInFlight") ?? 256,
    pingInterval: optionalTimeout(options.pingInterval, "pingInterval"),
  };
  const create = (pool: BackendSettings): ExecutorFactory => {
    refuseLocalOnly(pool);
    const withName = { ...settings, name: options.name ?? pool.name };
    return (events) => new NatsExecutor(events, withName);
  };
  return Object.freeze({ kind: "nats" as const, servers, pool, [CREATE_EXECUTOR]: create });
}

function serverList(value: unknown): readonly string[] {
  if (value === undefined) return ["nats://127.0.0.1:4222"];
  const list = typeof value === "string" ? value.split(",").map((s) => s.trim()) : value;
  if (
    !Array.isArray(list) || list.length === 0 ||
    list.some((s) => typeof s !== "string" || s === "")
  ) {
    throw new TypeError(
      `Option servers must be a server URL such as "nats://10.0.0.5:4222" or an array of them, got ${
        describe(value)
      }`,
    );
  }
  return Object.freeze([...list]);
}

/** Pool options that configure local workers have no meaning for shared remote workers. */
function refuseLocalOnly(settings: BackendSettings): void {
  const refused = [
    ["initializer", settings.initializer, "run setup code at the top level of the task module"],
    ["permissions", settings.permissions, "start the workers with the Deno permissions they need"],
    [
      "maxTasksPerWorker",
      settings.maxTasksPerWorker,
      "remote workers recycle on their own terms",
    ],
  ] as const;
  for (const [name, value, instead] of refused) {
    if (value !== undefined) {
      throw new RangeError(
        `Option ${name} is not supported by the nats backend, whose workers are shared: ${instead}`,
      );
    }
  }
}
