/**
 * The same Pool across processes, through NATS JetStream: a local
 * `nats-server -js`, two remote worker processes (as on two machines), and
 * a Pool whose only change is `backend: nats({ ... })`. The WASM
 * `countPrimes` kernel counts primes in bands spread over the workers,
 * with a progress line; each worker reports how many chunks it ran.
 *
 * @module
 */

import { kernels, Pool } from "../mod.ts";
import { nats } from "../nats.ts";
import {
  findNatsServer,
  NATS_INSTALL_HINT,
  startNatsServer,
  startWorker,
  type WorkerProcess,
} from "../scripts/local_cluster.ts";
import { formatMs, now, type PartOptions } from "./output.ts";

/** What {@linkcode cluster} did. */
export type ClusterResult =
  | { readonly skipped: true }
  | {
    readonly skipped: false;
    /** Primes below the limit. */
    readonly primes: number;
    /** Bands (chunks) sent. */
    readonly bands: number;
    /** Chunks each worker ran, by worker name, from its own report as it stopped. */
    readonly perWorker: Record<string, number>;
    /** Progress lines printed (not counting `\r` redraws on a terminal). */
    readonly progressLines: number;
  };

/** Counts the primes below 2e7 (1e6 when quick) in bands over two NATS workers. */
export async function cluster(options: PartOptions = {}): Promise<ClusterResult> {
  const print = options.print ?? console.log;
  if (findNatsServer() === undefined) {
    print(`Skipped: ${NATS_INSTALL_HINT}`);
    return { skipped: true };
  }
  const tty = options.print === undefined && Deno.stdout.isTerminal();
  const limit = options.quick ? 1e6 : 2e7;
  const count = options.quick ? 20 : 100;
  const bands: [number, number][] = [];
  for (let i = 0; i < count; i++) bands.push([(limit * i) / count, (limit * (i + 1)) / count]);

  const server = await startNatsServer();
  const workers: WorkerProcess[] = [];
  try {
    print(`nats-server -js on ${server.url} (pid ${server.pid})`);
    for (const name of ["worker-a", "worker-b"]) {
      workers.push(
        await startWorker(server.url, { pool: "demo", name, args: ["--concurrency", "1"] }),
      );
      print(
        `deno run -A worker_cli.ts --servers ${server.url} --pool demo --concurrency 1 ` +
          `--name ${name}  (pid ${workers.at(-1)!.pid})`,
      );
    }
    print(`new Pool({ backend: nats({ servers: "${server.url}", pool: "demo" }) })`);
    let primes = 0;
    let done = 0;
    let progressLines = 0;
    const start = now();
    {
      await using pool = new Pool({ backend: nats({ servers: server.url, pool: "demo" }) });
      for await (const n of pool.imapUnordered(kernels.countPrimes, bands, { chunksize: 1 })) {
        primes += n;
        done++;
        const line = `[${"#".repeat(Math.round((20 * done) / count)).padEnd(20, "-")}] ` +
          `${done}/${count} bands, ${primes.toLocaleString("en")} primes so far`;
        if (tty) {
          Deno.stdout.writeSync(new TextEncoder().encode(`\r${line}\x1b[K`));
        } else if (done % Math.ceil(count / 4) === 0 || done === count) {
          print(line);
          progressLines++;
        }
      }
      if (tty) print("");
    }
    print(
      `${primes.toLocaleString("en")} primes below ${limit.toLocaleString("en")} in ${
        formatMs(now() - start)
      }`,
    );
    const perWorker: Record<string, number> = {};
    for (const worker of workers) {
      await worker.stop();
      const ran = worker.lines.map((line) => / stopped: ran (\d+) chunks/.exec(line)?.[1])
        .find((n) => n !== undefined);
      perWorker[worker.name] = Number(ran ?? 0);
      print(`${worker.name} ran ${perWorker[worker.name]} chunks`);
    }
    return { skipped: false, primes, bands: count, perWorker, progressLines };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await server.stop();
  }
}
