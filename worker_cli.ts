/**
 * The remote worker of the NATS backend, as a command:
 *
 * ```sh
 * deno run -A jsr:@multipool/multipool/worker --servers nats://10.0.0.5:4222 --pool default --concurrency 8
 * ```
 *
 * It pulls chunks from the pool's JetStream work queue (never more than
 * `--concurrency` plus `--prefetch`), runs them on a local multipool pool
 * (`--backend thread|process`), heartbeats long chunks, and acks each
 * chunk only after publishing its result. Inline functions run only with
 * `--allow-inline`. SIGTERM or SIGINT: stop pulling, finish the running
 * chunks, exit 0. `--help` lists every flag; a bad flag exits 2 with a
 * message naming it.
 *
 * Anyone who can publish to the pool's subjects can run any task module
 * the worker can import: protect the NATS server.
 *
 * @example Run a worker from code (the CLI calls this)
 * ```ts ignore
 * import { main } from "jsr:@multipool/multipool/worker";
 * Deno.exit(await main(["--servers", "nats://127.0.0.1:4222", "--pool", "default"]));
 * ```
 *
 * @module
 */

export { type CliIo, main, USAGE } from "./src/_worker_cli.ts";
import { main } from "./src/_worker_cli.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
