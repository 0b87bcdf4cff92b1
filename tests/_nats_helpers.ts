/**
 * Shared helpers of the NATS suites: a real `nats-server` and real worker
 * processes per test (see `scripts/local_cluster.ts`), all stopped by pid
 * afterwards and checked gone. Without `nats-server` the suites are
 * skipped, with a message saying how to install it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { taskModule } from "../mod.ts";
import { nats, type NatsBackend, type NatsOptions } from "../nats.ts";
import {
  findNatsServer,
  NATS_INSTALL_HINT,
  type NatsServer,
  processGone,
  startNatsServer,
  startWorker,
  type WorkerProcess,
} from "../scripts/local_cluster.ts";
import { type JetStreamManager, jetstreamManager, openConnection } from "../src/_nats_client.ts";
import { poolNames } from "../src/_nats_wire.ts";

/** Typed references to the NATS fixture tasks. */
export const natsTasks = taskModule<typeof import("./fixtures/nats_tasks.ts")>(
  new URL("./fixtures/nats_tasks.ts", import.meta.url),
);

const available = findNatsServer() !== undefined;
/** CI sets it (`.ci/run`): there a missing `nats-server` fails the suites instead of skipping them. */
const required = Deno.env.get("MULTIPOOL_REQUIRE_NATS") === "1";
if (!available && !required) console.warn(`Skipping the NATS tests: ${NATS_INSTALL_HINT}`);

/** A test that needs `nats-server`: skipped (ignored) without it, unless CI requires it. */
export function natsTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({ name, ignore: !available && !required, fn });
}

/** A server and the workers started on it. */
export interface Cluster {
  readonly server: NatsServer;
  readonly pool: string;
  readonly workers: WorkerProcess[];
  /** A backend for this cluster's pool (with `options` added). */
  backend(options?: NatsOptions): NatsBackend;
  /** Starts one more worker. */
  addWorker(name: string, args?: readonly string[]): Promise<WorkerProcess>;
  /** Messages in the pool's work-queue stream now. */
  queued(): Promise<number>;
  /** Chunks delivered to workers and not acked yet, now. */
  unacked(): Promise<number>;
  /** Deletes the pool's stream (and so its consumer), as an administrator might. */
  deleteStream(): Promise<void>;
}

/** How {@linkcode withCluster} starts the cluster. */
export interface ClusterOptions {
  /** Worker processes to start at first. */
  readonly workers: number;
  /** Flags of every worker. */
  readonly args?: readonly string[];
  /** Flags of the server (e.g. `["--auth", "token"]`). */
  readonly serverArgs?: string[];
  /** Options every backend of the cluster gets (e.g. its token). */
  readonly connect?: NatsOptions;
}

/**
 * Starts a server and `workers` worker processes, runs `fn`, then stops
 * them all by pid and asserts that none is left.
 */
export async function withCluster(
  options: ClusterOptions,
  fn: (cluster: Cluster) => Promise<void>,
): Promise<void> {
  const server = await startNatsServer({ args: options.serverArgs });
  const workers: WorkerProcess[] = [];
  const pool = "test";
  const addWorker = async (name: string, args: readonly string[] = options.args ?? []) => {
    const worker = await startWorker(server.url, {
      pool,
      name,
      args: [...connectFlags(options.connect), ...args],
    });
    workers.push(worker);
    return worker;
  };
  const cluster: Cluster = {
    server,
    pool,
    workers,
    backend: (extra = {}) => nats({ servers: server.url, pool, ...options.connect, ...extra }),
    addWorker,
    queued: () => inspect(server.url, options.connect ?? {}, (jsm) => queuedIn(jsm, pool)),
    unacked: () => inspect(server.url, options.connect ?? {}, (jsm) => unackedIn(jsm, pool)),
    deleteStream: () =>
      inspect(server.url, options.connect ?? {}, async (jsm) => {
        await jsm.streams.delete(poolNames(pool).stream);
      }),
  };
  try {
    await Promise.all(Array.from({ length: options.workers }, (_, i) => addWorker(`w${i + 1}`)));
    await fn(cluster);
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await server.stop();
    for (const worker of workers) {
      assert.ok(
        processGone(worker.pid),
        `worker ${worker.name} (pid ${worker.pid}) is still alive`,
      );
    }
    assert.ok(processGone(server.pid), `nats-server (pid ${server.pid}) is still alive`);
  }
}

function connectFlags(connect: NatsOptions | undefined): string[] {
  const flags: string[] = [];
  if (connect?.token !== undefined) flags.push("--token", connect.token);
  if (connect?.user !== undefined) flags.push("--user", connect.user);
  if (connect?.pass !== undefined) flags.push("--password", connect.pass);
  return flags;
}

/** Runs `read` on a connection of its own to the server. */
async function inspect<T>(
  url: string,
  connect: NatsOptions,
  read: (jsm: JetStreamManager) => Promise<T>,
): Promise<T> {
  const nc = await openConnection({
    servers: [url],
    token: connect.token,
    user: connect.user,
    pass: connect.pass,
  });
  try {
    return await read(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

async function queuedIn(jsm: JetStreamManager, pool: string): Promise<number> {
  return (await jsm.streams.info(poolNames(pool).stream)).state.messages;
}

async function unackedIn(jsm: JetStreamManager, pool: string): Promise<number> {
  const names = poolNames(pool);
  return (await jsm.consumers.info(names.stream, names.consumer)).num_ack_pending;
}

/** Polls `check` every 50 ms until it holds; fails after `ms`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
