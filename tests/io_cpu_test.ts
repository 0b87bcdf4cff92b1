// IO and CPU together (issue 5, point 5): a real Deno.serve on 127.0.0.1,
// bodies fetched through a Group with a limit and streamed into pool.imap
// running an inline TypeScript task. Aborting either side stops both and
// leaves nothing running: no request, no job, no busy worker.

import assert from "node:assert/strict";
import { Group, type Pool, RemoteError, sleep } from "../mod.ts";
import { withPool } from "./_helpers.ts";

const LIMIT = 4;
/** pool.imap settings that keep its read-ahead small and fixed (one item per chunk, two chunks). */
const SMALL_WINDOW = { chunksize: 1, buffersize: 2 } as const;

/** The body the server sends for item `i`. */
function bodyFor(i: number): string {
  return "word ".repeat(i % 13);
}

interface TestServer {
  readonly base: string;
  readonly stats: { requests: number; active: number; peak: number };
  close(): Promise<void>;
}

/** A local server answering `/i` with {@linkcode bodyFor}(i) after `delay` ms. */
function startServer(delay: number): TestServer {
  const stats = { requests: 0, active: 0, peak: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    stats.requests++;
    stats.peak = Math.max(stats.peak, ++stats.active);
    try {
      await sleep(delay);
      return new Response(bodyFor(Number(new URL(request.url).pathname.slice(1))));
    } finally {
      stats.active--;
    }
  });
  return { base: `http://127.0.0.1:${server.addr.port}`, stats, close: () => server.shutdown() };
}

/** Runs `fn` with a fresh server and a 2-worker pool; closes both (the pool checks no worker is left). */
async function withServerAndPool(
  delay: number,
  fn: (server: TestServer, pool: Pool) => Promise<void>,
): Promise<void> {
  const server = startServer(delay);
  try {
    await withPool({ size: 2 }, (pool) => fn(server, pool));
  } finally {
    await server.close();
  }
}

/** Endless URLs of `server`; `closed` turns true when the consumer stops pulling. */
function urlSource(server: TestServer) {
  const source = { pulled: 0, closed: false, urls: urls() };
  function* urls() {
    try {
      for (let i = 0;; i++) {
        source.pulled++;
        yield `${server.base}/${i}`;
      }
    } finally {
      source.closed = true;
    }
  }
  return source;
}

/** Client-side count of fetches started and still running. */
const fetches = { started: 0, active: 0 };

async function fetchText(url: string, signal: AbortSignal): Promise<string> {
  fetches.started++;
  fetches.active++;
  try {
    const response = await fetch(url, { signal });
    return await response.text();
  } finally {
    fetches.active--;
  }
}

/** Waits (up to 2 s) until `condition` holds. */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 2000) assert.fail(`Timed out waiting until ${what}`);
    await sleep(5);
  }
}

/** Asserts that nothing of the pipeline is still running. */
async function assertNothingRunning(server: TestServer, group: Group, pool: Pool): Promise<void> {
  assert.equal(group.size, 0, "a job of the group is still running");
  assert.equal(fetches.active, 0, "a fetch is still running");
  const started = fetches.started;
  await eventually(() => server.stats.active === 0, "the server has no request in flight");
  await sleep(20);
  assert.equal(fetches.started, started, "fetches went on after the stop");
  await eventually(() => pool.stats().busy === 0, "no worker is busy");
  assert.equal(pool.stats().queued, 0);
}

Deno.test("fetch through a Group with a limit, stream the bodies into pool.imap", async () => {
  await withServerAndPool(2, async (server, pool) => {
    await using group = new Group({ limit: LIMIT });
    const urls = Array.from({ length: 120 }, (_, i) => `${server.base}/${i}`);
    const bodies = group.imap(fetchText, urls);
    const lengths: number[] = [];
    for await (const length of pool.imap((s: string) => s.length, bodies)) lengths.push(length);
    assert.deepEqual(lengths, urls.map((_, i) => bodyFor(i).length));
    assert.equal(server.stats.requests, 120);
    assert.ok(server.stats.peak <= LIMIT, `peak of ${server.stats.peak} requests at once`);
    await assertNothingRunning(server, group, pool);
  });
});

Deno.test("aborting the IO side (the group's signal) stops both sides", async () => {
  await withServerAndPool(5, async (server, pool) => {
    const controller = new AbortController();
    await using group = new Group({ limit: LIMIT, signal: controller.signal });
    const source = urlSource(server);
    const reason = new Error("IO side aborted");
    let consumed = 0;
    const run = async () => {
      const bodies = group.imap(fetchText, source.urls);
      for await (const _ of pool.imap((s: string) => s.length, bodies, SMALL_WINDOW)) {
        if (++consumed === 10) controller.abort(reason);
      }
    };
    await assert.rejects(run(), (e) => e === reason);
    assert.equal(source.closed, true);
    // Backpressure on both sides: consumed + pool window + group window (2 * limit).
    const bound = 10 + SMALL_WINDOW.buffersize + 2 * LIMIT + 1;
    assert.ok(source.pulled <= bound, `${source.pulled} URLs pulled, at most ${bound} expected`);
    // join() reports the abort if it cancelled jobs of the group (it usually does).
    await group.join().catch((e) => assert.equal(e, reason));
    await assertNothingRunning(server, group, pool);
  });
});

Deno.test("aborting the CPU side (pool.imap's signal) stops both sides", async () => {
  await withServerAndPool(5, async (server, pool) => {
    await using group = new Group({ limit: LIMIT });
    const controller = new AbortController();
    const source = urlSource(server);
    const reason = new Error("CPU side aborted");
    let consumed = 0;
    const run = async () => {
      const bodies = group.imap(fetchText, source.urls);
      for await (
        const _ of pool.imap((s: string) => s.length, bodies, { signal: controller.signal })
      ) {
        if (++consumed === 10) controller.abort(reason);
      }
    };
    await assert.rejects(run(), (e) => e === reason);
    await eventually(() => source.closed, "the URL source is closed");
    await assertNothingRunning(server, group, pool);
    assert.equal(await group.join(), true);
  });
});

Deno.test("a failing CPU task stops the fetching; a consumer break stops both", async (t) => {
  await withServerAndPool(2, async (server, pool) => {
    await using group = new Group({ limit: LIMIT });

    await t.step("task error", async () => {
      const source = urlSource(server);
      const bodies = group.imap(fetchText, source.urls);
      const failOnLong = (s: string) => {
        if (s.length > 40) throw new RangeError(`Body too long: ${s.length}`);
        return s.length;
      };
      const run = async () => {
        for await (const _ of pool.imap(failOnLong, bodies)) {
          // results until the failure
        }
      };
      await assert.rejects(
        run(),
        (e) => e instanceof RemoteError && /Body too long/.test(e.message),
      );
      await eventually(() => source.closed, "the URL source is closed");
      await assertNothingRunning(server, group, pool);
    });

    await t.step("consumer break", async () => {
      const source = urlSource(server);
      let consumed = 0;
      for await (
        const _ of pool.imap((s: string) => s.length, group.imap(fetchText, source.urls))
      ) {
        if (++consumed === 5) break;
      }
      await eventually(() => source.closed, "the URL source is closed");
      await assertNothingRunning(server, group, pool);
    });
  });
});
