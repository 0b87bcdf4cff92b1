/**
 * IO with one hand, CPU with the other: a `Group` fetches documents from a
 * local HTTP server with bounded concurrency, and the bodies stream straight
 * into `pool.imap`, where the WASM `fnv1a32` kernel hashes them. Then the
 * same pipeline is aborted halfway: both sides stop, nothing is left running.
 *
 * @module
 */

import { Group, kernels, liveWorkerCount, Pool, sleep } from "../mod.ts";
import { formatMs, now, type PartOptions } from "./output.ts";

/** What {@linkcode ioCpu} observed. */
export interface IoCpuResult {
  /** Documents fetched and hashed in the full run. */
  hashed: number;
  /** Most requests the server saw at once (bounded by the group's limit). */
  peakRequests: number;
  /** Hashes received before the abort in the second run. */
  beforeAbort: number;
  /** Fetches and workers still running after the aborted run. */
  leftRunning: { requests: number; workers: number };
}

const LIMIT = 16;

/** Runs the fetch → hash pipeline once to the end and once aborted, printing what happened. */
export async function ioCpu(options: PartOptions = {}): Promise<IoCpuResult> {
  const print = options.print ?? console.log;
  const documents = options.quick ? 40 : 200;
  const server = startServer(options.quick ? 5 : 20);
  try {
    const urls = () => Array.from({ length: documents }, (_, i) => `${server.base}/doc/${i}`);
    print(`Local server ${server.base}: ${documents} documents, each answered after a short delay`);

    const start = now();
    let hashed = 0;
    let checksum = 0;
    {
      await using group = new Group({ limit: LIMIT });
      await using pool = new Pool({ size: 2 });
      const bodies = group.imap(fetchBytes, urls());
      for await (const hash of pool.imap(kernels.fnv1a32, bodies)) {
        hashed++;
        checksum = (checksum ^ hash) >>> 0;
      }
    }
    print(
      `Fetched through Group({ limit: ${LIMIT} }) and hashed in pool.imap(kernels.fnv1a32): ` +
        `${hashed} documents in ${formatMs(now() - start)}, xor of hashes ${checksum.toString(16)}`,
    );
    print(`Most requests in flight at once: ${server.stats.peak} (limit ${LIMIT})`);

    const controller = new AbortController();
    let beforeAbort = 0;
    try {
      await using group = new Group({ limit: LIMIT, signal: controller.signal });
      await using pool = new Pool({ size: 2 });
      const bodies = group.imap(fetchBytes, urls());
      for await (const _ of pool.imap(kernels.fnv1a32, bodies, { signal: controller.signal })) {
        if (++beforeAbort === Math.floor(documents / 4)) controller.abort(new Error("Enough"));
      }
    } catch (error) {
      // `await using` wraps the loop's error when disposing the aborted group rejects too.
      let reason = error;
      while (reason instanceof SuppressedError) reason = reason.error;
      print(
        `Aborted after ${beforeAbort} hashes: ${reason instanceof Error ? reason.message : reason}`,
      );
    }
    const leftRunning = { requests: fetching.active, workers: liveWorkerCount() };
    print(
      `Still running after the abort: ${leftRunning.requests} fetches, ${leftRunning.workers} workers`,
    );
    return { hashed, peakRequests: server.stats.peak, beforeAbort, leftRunning };
  } finally {
    await server.close();
  }
}

/** Fetches running right now, counted on the client side. */
const fetching = { active: 0 };

async function fetchBytes(url: string, signal: AbortSignal): Promise<Uint8Array> {
  fetching.active++;
  try {
    const response = await fetch(url, { signal });
    return new Uint8Array(await response.arrayBuffer());
  } finally {
    fetching.active--;
  }
}

interface DocumentServer {
  readonly base: string;
  readonly stats: { active: number; peak: number };
  close(): Promise<void>;
}

/** Serves `/doc/<i>`: a few kilobytes of text, after `delay` ms. */
function startServer(delay: number): DocumentServer {
  const stats = { active: 0, peak: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    stats.peak = Math.max(stats.peak, ++stats.active);
    try {
      await sleep(delay);
      const i = Number(new URL(request.url).pathname.split("/").at(-1));
      return new Response(`document ${i}\n`.repeat(200 + (i % 50)));
    } finally {
      stats.active--;
    }
  });
  return { base: `http://127.0.0.1:${server.addr.port}`, stats, close: () => server.shutdown() };
}
