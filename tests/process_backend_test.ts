// Issue 12, points 2, 4, 5, 6 and 8: what the process backend adds. A
// runaway task is really stopped (timeout, abort and terminate() kill its
// child, whose CPU is reclaimed); no child outlives its pool or its host;
// a finished script exits on its own on either backend; permissions are
// CLI flags intersected with the host's; output arrives in whole lines;
// bad input fails at the call.

import assert from "node:assert/strict";
import { liveWorkerCount, Pool, Process, RemoteError, TaskTimeoutError } from "../mod.ts";
import { deno, faulty, rejectsWithin } from "./_fault_helpers.ts";
import { BACKENDS, withPool } from "./_helpers.ts";
import { allGone, childrenCpuMs, isRunning } from "./_process_helpers.ts";

const SCRIPT = new URL("./fixtures/backend_script.ts", import.meta.url).href;

/** CPU the children may use while idle in the sampling window (ms). */
const IDLE_CPU_MS = 150;

/** Runs a pool of one process worker: its pid, then `stop` on a spinning task. */
async function stopsSpinning(
  stop: (pool: Pool, pid: number) => Promise<unknown>,
): Promise<void> {
  await withPool({ size: 1, backend: "process" }, async (pool) => {
    const pid = await pool.apply(() => Deno.pid, []);
    assert.ok(isRunning(pid));
    await stop(pool, pid);
    await allGone([pid], 2000);
    if (pool.stats().alive > 0) {
      // The replacement is up and idle before the children's CPU is sampled.
      assert.notEqual(await pool.apply(() => Deno.pid, []), pid);
    }
    const cpu = await childrenCpuMs(500);
    assert.ok(cpu <= IDLE_CPU_MS, `the children used ${cpu} ms of CPU in 500 ms`);
  });
}

Deno.test("2: a timeout kills the spinning child; its CPU is reclaimed", async () => {
  await stopsSpinning((pool) =>
    rejectsWithin(
      pool.apply(faulty.spin, [60_000], { timeout: 300 }),
      TaskTimeoutError,
      /did not finish within 300 ms/,
    )
  );
});

Deno.test("2: an abort kills the spinning child; its CPU is reclaimed", async () => {
  await stopsSpinning((pool) =>
    rejectsWithin(
      pool.apply(faulty.spin, [60_000], { signal: AbortSignal.timeout(300) }),
      DOMException,
      /timed out|timeout/i,
    )
  );
});

Deno.test("2: terminate() kills the spinning child at once", async () => {
  await stopsSpinning(async (pool) => {
    const spinning = pool.apply(faulty.spin, [60_000]);
    spinning.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    const start = performance.now();
    await pool.terminate();
    assert.ok(performance.now() - start < 1000, "terminate() waited for the loop");
    assert.equal(liveWorkerCount(), 0);
  });
});

for (const scenario of ["throw", "exit"] as const) {
  Deno.test(`2: no child outlives a host that ${scenario === "throw" ? "throws" : "calls Deno.exit()"}`, async () => {
    const { code, stdout, stderr } = await deno(["run", "-A", SCRIPT, scenario]);
    assert.equal(code, scenario === "throw" ? 1 : 3, stderr);
    const pids = JSON.parse(stdout.trim().split("\n")[0]) as number[];
    assert.equal(pids.length, 2);
    assert.notEqual(pids[0], pids[1]);
    await allGone(pids);
  });
}

for (const backend of BACKENDS) {
  Deno.test(`[${backend}] 4: a script that never closes its pool exits with code 0`, async () => {
    const { code, stdout, stderr } = await deno(["run", "-A", SCRIPT, "unclosed", backend]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, "[1,4,9]\n");
  });

  Deno.test(`[${backend}] 4: a script waits for a Process it started, then exits 0`, async () => {
    const { code, stdout, stderr } = await deno(["run", "-A", SCRIPT, "unjoined", backend]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, "started\nexitCode 0\n");
  });

  Deno.test(`[${backend}] 6: worker output reaches the host's stdout and stderr in whole lines`, async () => {
    const { code, stdout, stderr } = await deno(["run", "-A", SCRIPT, "output", backend]);
    assert.equal(code, 0, stderr.slice(0, 500));
    const line = /^(a|b|host)-(\d+):x{10000}$/;
    for (const [name, text, share] of [["stdout", stdout, 3], ["stderr", stderr, 1]] as const) {
      const lines = text.split("\n").slice(0, -1);
      const bad = lines.filter((l) => !line.test(l));
      assert.deepEqual(bad.map((l) => l.slice(0, 40)), [], `${name}: lines cut or mixed`);
      assert.equal(lines.length, 3 * 50 * share, `${name}: every line arrived`);
    }
  });
}

Deno.test("5: permissions of a process worker never exceed its host's; no unstable flag needed", async () => {
  // No net access, no --unstable-worker-options (no config), and read access: the worker asks
  // for { net: true, read: true, env: ["HOME"] } and gets read only.
  const { code, stdout, stderr } = await deno([
    "run",
    "--no-config",
    "--allow-read",
    "--allow-run",
    SCRIPT,
    "intersect",
  ]);
  assert.equal(code, 0, stderr);
  const states = JSON.parse(stdout.trim());
  assert.equal(states.read, "granted");
  for (const name of ["net", "env", "write"]) {
    assert.notEqual(states[name], "granted", `${name}: ${JSON.stringify(states)}`);
  }
});

Deno.test("8: the process backend in a host without --allow-run fails at the call, naming the flag", async () => {
  const { code, stdout, stderr } = await deno([
    "run",
    "--no-config",
    "--allow-read",
    SCRIPT,
    "noallowrun",
  ]);
  assert.equal(code, 0, stderr);
  assert.match(
    stdout,
    /^NotCapable: The process backend starts `deno` subprocesses: run the host with --allow-run/,
  );
  assert.match(stdout, /\nlive 0\n$/);
});

Deno.test("8: an unknown backend is a RangeError naming the allowed values", () => {
  for (const bad of ["threads", "", 1, null, {}]) {
    assert.throws(() => new Pool({ size: 1, backend: bad as never }), {
      name: "RangeError",
      message: /^Option backend must be "thread", "process" or a backend object/,
    });
    assert.throws(() => new Process({ target: () => {}, backend: bad as never }), {
      name: "RangeError",
      message: /^Option backend must be "thread" or "process", got /,
    });
  }
  const object = { kind: "nats" };
  assert.throws(() => new Process({ target: () => {}, backend: object as never }), RangeError);
  assert.equal(liveWorkerCount(), 0);
});

Deno.test("5: a denied access fails the task with RemoteError (NotCapable); the pool survives", async () => {
  const dir = await Deno.makeTempDir({ prefix: "multipool_process_sandbox_" });
  try {
    await Deno.writeTextFile(`${dir}/secret.txt`, "secret");
    await withPool({ size: 1, backend: "process", permissions: "none" }, async (pool) => {
      const error = await rejectsWithin(
        pool.apply((path: string) => Deno.readTextFileSync(path), [`${dir}/secret.txt`]),
        RemoteError,
        /^NotCapable: Requires read access to/,
      );
      assert.equal(error.cause.name, "NotCapable");
      assert.equal(await pool.apply((x: number) => x + 1, [1]), 2);
      assert.equal(pool.stats().replaced, 0);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
