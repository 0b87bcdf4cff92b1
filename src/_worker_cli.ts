/**
 * The remote worker's command line: flags, usage, and the run from start
 * to a graceful stop on SIGTERM or SIGINT (a second signal stops at once).
 * `worker_cli.ts` is the entry that calls {@linkcode main}.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BACKEND_NAMES } from "./backend.ts";
import { CONSUMER_DEFAULTS, NatsWorker, type NatsWorkerSettings } from "./_nats_worker.ts";
import { parseDuration, POOL_NAME } from "./_nats_wire.ts";

/**
 * The usage text of `--help`.
 *
 * @example
 * ```ts
 * import { USAGE } from "@multipool/multipool/worker";
 * console.log(USAGE.includes("--allow-inline")); // true
 * ```
 */
export const USAGE: string = `Usage: deno run -A jsr:@multipool/multipool/worker [flags]

Runs chunks of a multipool NATS pool: pulls them from the pool's JetStream
work queue, runs them on local workers, publishes each result, then acks.

Flags:
  --servers URL[,URL]     NATS server(s) (default $NATS_URL or nats://127.0.0.1:4222)
  --pool NAME             pool to work for (default "default"): letters, digits, _ and -
  --concurrency N         local workers, chunks running at once (default: CPU count)
  --prefetch N            chunks held beyond --concurrency, ready to run (default: --concurrency)
  --backend thread|process  where the local workers run (default thread)
  --allow-inline          run inline functions sent as source (off: only task modules)
  --name NAME             worker name in logs and results (default host-pid)
  --ack-wait DURATION     redeliver a chunk whose worker went silent this long (e.g. 30s; default ${
  CONSUMER_DEFAULTS.ackWait / 1000
}s)
  --max-deliveries N      give a chunk up after N deliveries (default ${CONSUMER_DEFAULTS.maxDeliveries})
  --token TOKEN           token authentication
  --user USER             user/password authentication (with --password)
  --password PASSWORD
  --creds FILE            credentials file (JWT and NKey seed)
  --presence-interval DURATION  heartbeat to callers (default 2s)
  -h, --help              print this help

--ack-wait and --max-deliveries configure the pool's shared consumer: give every
worker of a pool the same values. SIGTERM or SIGINT stops pulling, lets the
running chunks finish and exits 0; a second signal exits at once.
Anyone who can publish to the pool's subjects can run any task module this
worker can import: protect the NATS server.`;

/** A flag problem: the message names the flag. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** What the flags ask for: a worker's settings, or the usage text. */
export type Parsed = { readonly help: true } | {
  readonly help: false;
  readonly settings: NatsWorkerSettings;
};

const FLAGS = {
  servers: { type: "string" },
  pool: { type: "string" },
  concurrency: { type: "string" },
  prefetch: { type: "string" },
  backend: { type: "string" },
  "allow-inline": { type: "boolean" },
  name: { type: "string" },
  "ack-wait": { type: "string" },
  "max-deliveries": { type: "string" },
  token: { type: "string" },
  user: { type: "string" },
  password: { type: "string" },
  creds: { type: "string" },
  "presence-interval": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Parses the worker's flags.
 *
 * @throws {UsageError} naming a flag that is unknown, repeated or has a bad value.
 */
export function parseFlags(
  args: readonly string[],
  env: (name: string) => string | undefined,
): Parsed {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: FLAGS,
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const flag = /'([^']+)'/.exec(message)?.[1];
    throw new UsageError(
      flag === undefined
        ? message.split(". ")[0]
        : `Unknown or misused flag ${flag}: ${message.split(". ")[0]}`,
    );
  }
  if (values.help) return { help: true };
  const concurrency = count(values.concurrency, "--concurrency", 1) ??
    navigator.hardwareConcurrency ?? 1;
  const pool = values.pool ?? "default";
  if (!POOL_NAME.test(pool)) {
    throw new UsageError(`Flag --pool must be 1 to 64 letters, digits, _ or -, got "${pool}"`);
  }
  const backend = values.backend ?? "thread";
  if (backend !== "thread" && backend !== "process") {
    throw new UsageError(`Flag --backend must be thread or process, got "${backend}"`);
  }
  if (values.password !== undefined && values.user === undefined) {
    throw new UsageError("Flag --password needs --user");
  }
  const servers = (values.servers ?? env("NATS_URL") ?? "nats://127.0.0.1:4222")
    .split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (servers.length === 0) throw new UsageError("Flag --servers must name at least one server");
  return {
    help: false,
    settings: {
      servers,
      pool,
      name: values.name ?? `${Deno.hostname()}-${Deno.pid}`,
      concurrency,
      prefetch: count(values.prefetch, "--prefetch", 0) ?? concurrency,
      backend,
      allowInline: values["allow-inline"] ?? false,
      ackWait: duration(values["ack-wait"], "--ack-wait"),
      maxDeliveries: count(values["max-deliveries"], "--max-deliveries", 1),
      presenceInterval: duration(values["presence-interval"], "--presence-interval") ?? 2_000,
      token: values.token,
      user: values.user,
      pass: values.password,
      credentials: values.creds,
    },
  };
}

function count(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min) {
    throw new UsageError(`Flag ${flag} must be an integer >= ${min}, got "${value}"`);
  }
  return n;
}

function duration(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) {
    throw new UsageError(
      `Flag ${flag} must be a duration such as 500ms, 30s or 2m, got "${value}"`,
    );
  }
  return ms;
}

/**
 * Where the CLI writes.
 *
 * @example
 * ```ts
 * import { type CliIo, main } from "@multipool/multipool/worker";
 * const lines: string[] = [];
 * const io: CliIo = { log: (line) => lines.push(line), error: (line) => lines.push(line) };
 * console.log(await main(["--concurrency", "zero"], io), lines[0]);
 * // 2 'Flag --concurrency must be an integer >= 1, got "zero"\nRun with --help for usage'
 * ```
 */
export interface CliIo {
  /** Progress: the ready line, the summary at exit, `--help`. */
  log(line: string): void;
  /** Problems: bad flags, a failed start, a lost connection. */
  error(line: string): void;
}

/**
 * Runs the worker CLI with `args` until SIGTERM or SIGINT (see the module
 * doc of `worker_cli.ts`).
 *
 * @param args the flags, as in `Deno.args`.
 * @param io where lines go; default the console.
 * @returns the exit code: 0 after a graceful stop or `--help`, 2 for a bad
 * flag (the message names it), 1 when the worker cannot start or its
 * connection closes for good, 130 when a second signal cut the stop short.
 *
 * @example
 * ```ts
 * import { main } from "@multipool/multipool/worker";
 * console.log(await main(["--help"], { log: () => {}, error: console.error })); // 0
 * ```
 */
export async function main(
  args: readonly string[],
  io: CliIo = { log: console.log, error: console.error },
): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseFlags(args, (name) => Deno.env.get(name));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.error(`${error.message}\nRun with --help for usage`);
    return 2;
  }
  if (parsed.help) {
    io.log(USAGE);
    return 0;
  }
  const { settings } = parsed;
  if (!BACKEND_NAMES.includes(settings.backend)) {
    io.error(
      `Flag --backend must be ${BACKEND_NAMES.join(" or ")}, got "${settings.backend}"`,
    );
    return 2;
  }
  let worker: NatsWorker;
  try {
    worker = await NatsWorker.start(settings);
  } catch (error) {
    io.error(
      `Cannot start worker ${settings.name}: ${error instanceof Error ? error.message : error}`,
    );
    return 1;
  }
  io.log(
    `multipool worker ${settings.name} ready: pool ${settings.pool} on ${
      settings.servers.join(",")
    }, concurrency ${settings.concurrency}, backend ${settings.backend}, inline tasks ${
      settings.allowInline ? "allowed" : "refused"
    }`,
  );
  return await runUntilStopped(worker, settings.name, io);
}

async function runUntilStopped(worker: NatsWorker, name: string, io: CliIo): Promise<number> {
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  const first = Promise.withResolvers<"signal">();
  const second = Promise.withResolvers<true>();
  let signalled = 0;
  const onSignal = () => ++signalled === 1 ? first.resolve("signal") : second.resolve(true);
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  try {
    const how = await Promise.race([first.promise, worker.closed().then(() => "lost" as const)]);
    if (how === "lost") {
      io.error(`multipool worker ${name}: the connection to NATS closed for good`);
      await worker.kill();
      return 1;
    }
    io.log(`multipool worker ${name} stopping: finishing the chunks it holds`);
    const forced = await Promise.race([worker.stop().then(() => false), second.promise]);
    if (forced) await worker.kill();
    const { ran, failed } = worker.counts();
    io.log(`multipool worker ${name} stopped: ran ${ran} chunks (${failed} failed)`);
    return forced ? 130 : 0;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  }
}
