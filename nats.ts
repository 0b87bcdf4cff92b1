/**
 * The NATS JetStream backend: the same Pool API across machines. Start a
 * `nats-server -js`, start workers wherever there are cores to spare, and
 * give a Pool `backend: nats({ ... })`; every Pool method works unchanged.
 *
 * ```sh
 * nats-server -js                       # on 10.0.0.5
 * deno run -A jsr:@multipool/multipool/worker --servers nats://10.0.0.5:4222 --pool default --concurrency 8
 * ```
 *
 * Chunks go to a JetStream work-queue stream; workers pull them with
 * backpressure, heartbeat long chunks and ack each after publishing its
 * result. Execution is at-least-once (a lost worker's chunks are delivered
 * again), results exactly-once per item at the caller, in order for `map`
 * and `imap`. Whoever can publish to the pool's subjects can run any task
 * module the workers can import: protect the server (see the README).
 *
 * This entry is the only one that loads the NATS client; `mod.ts` never
 * does.
 *
 * @example
 * ```ts ignore
 * import { Pool, taskModule } from "jsr:@multipool/multipool";
 * import { nats } from "jsr:@multipool/multipool/nats";
 * const tasks = taskModule<{ square(x: number): number }>("https://example.com/tasks.ts");
 * await using pool = new Pool({ backend: nats({ servers: "nats://10.0.0.5:4222" }) });
 * console.log(await pool.map(tasks.square, [1, 2, 3])); // [1, 4, 9]
 * ```
 *
 * @module
 */

export { nats, type NatsBackend, type NatsOptions } from "./src/nats_backend.ts";
export { ConnectionLostError } from "./src/errors.ts";
