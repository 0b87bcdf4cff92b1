// Issue 6, point 12: `new Pool({ permissions })` runs workers under Deno's
// worker permissions (threads) or `deno run` flags (the process backend,
// issue 12 point 5: the first tests run on both). deno.json enables "worker-options", so these tests run
// with it; the subprocess tests run `deno run --no-config` to see what happens
// without it, and with a parent that has less than the workers ask for.

import assert from "node:assert/strict";
import { kernels, RemoteError } from "../mod.ts";
import { deno, fault, faulty, FAULTY_SCRIPT, withFaults } from "./_fault_helpers.ts";
import { BACKENDS } from "./_helpers.ts";

/** Where the fixture task modules live: outside multipool's own `src/`. */
const FIXTURES = new URL("./fixtures/", import.meta.url);
const FIXTURES_PATH = decodeURIComponent(FIXTURES.pathname);

/** A file nobody granted the workers, and its contents. */
async function secretFile(): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "multipool_sandbox_" });
  const path = `${dir}/secret.txt`;
  await Deno.writeTextFile(path, "top secret");
  return { path, dir };
}

for (const backend of BACKENDS) {
  Deno.test(`[${backend}] 12: permissions: 'none' is enough for the worker itself`, async (t) => {
    await withFaults({ backend, size: 2, permissions: "none" }, async (pool) => {
      await t.step("inline tasks and built-in WASM kernels run", async () => {
        assert.deepEqual(await pool.map((x: number) => x * 3, [1, 2, 3]), [3, 6, 9]);
        assert.equal(await pool.apply(kernels.countPrimes, [0, 1000]), 168);
      });
      await t.step(
        "the worker holds no permission beyond reading multipool's modules",
        async () => {
          const states = await pool.apply(async (src: string) => {
            const names = ["env", "net", "run", "write", "ffi", "sys"] as const;
            const others = await Promise.all(
              names.map(async (name) => (await Deno.permissions.query({ name })).state),
            );
            const read = async (path: string) =>
              (await Deno.permissions.query({ name: "read", path })).state;
            return { others, src: await read(src), root: await read("/") };
          }, [decodeURIComponent(new URL("../src/", import.meta.url).pathname)]);
          // Not granted shows as "prompt" or "denied" depending on the terminal.
          assert.ok(states.others.every((state) => state !== "granted"), `${states.others}`);
          assert.notEqual(states.root, "granted");
          assert.equal(states.src, "granted");
        },
      );
    });
  });

  Deno.test(`[${backend}] 12: a task that reads a file it was not granted fails clearly; the pool survives`, async (t) => {
    const { path, dir } = await secretFile();
    try {
      await t.step("inline task under permissions: 'none'", async () => {
        await withFaults({ backend, size: 2, permissions: "none" }, async (pool) => {
          const error = await fault(
            pool,
            () => pool.apply((p: string) => Deno.readTextFileSync(p), [path]),
            RemoteError,
            new RegExp(`^NotCapable: Requires read access to "${path}"`),
          );
          assert.equal(error.cause.name, "NotCapable");
          assert.equal(pool.stats().replaced, 0);
        });
      });
      await t.step("module task with read access to its own directory only", async () => {
        const permissions = { read: [FIXTURES_PATH] };
        await withFaults({ backend, size: 2, permissions }, async (pool) => {
          await fault(
            pool,
            () => pool.apply(faulty.readText, [path]),
            RemoteError,
            /NotCapable: Requires read access to .*secret\.txt/,
          );
          await fault(
            pool,
            () => pool.apply(faulty.writeText, [`${dir}/new.txt`, "x"]),
            RemoteError,
            /NotCapable: Requires write access/,
          );
          await fault(
            pool,
            () => pool.apply(faulty.readEnv, ["HOME"]),
            RemoteError,
            /NotCapable: Requires env access/,
          );
          await fault(
            pool,
            () => pool.apply(() => fetch("http://127.0.0.1:65535/"), []),
            RemoteError,
            /NotCapable: Requires net access/,
          );
          await fault(
            pool,
            () => pool.apply(() => new Deno.Command("true").output(), []),
            RemoteError,
            /NotCapable: Requires run access/,
          );
        });
        assert.deepEqual(permissions, { read: [FIXTURES_PATH] }, "the options were not modified");
      });
      await t.step("granted read access: the same task reads the file", async () => {
        await withFaults(
          { backend, size: 2, permissions: { read: [FIXTURES_PATH, path] } },
          async (pool) => {
            assert.equal(await pool.apply(faulty.readText, [path]), "top secret");
          },
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`[${backend}] 12: a task module outside multipool's directory needs read access granted`, async () => {
    await withFaults({ backend, size: 2, permissions: "none" }, async (pool) => {
      const error = await fault(
        pool,
        () => pool.apply(faulty.square, [3]),
        RemoteError,
        /Cannot load task module file:.*faulty_tasks\.ts \(for task 'square'\): Requires read access/,
      );
      assert.match(error.message, /--allow-read/);
    });
    await withFaults({ backend, size: 2, permissions: { read: [FIXTURES_PATH] } }, async (pool) => {
      assert.deepEqual(await pool.map(faulty.square, [1, 2, 3]), [1, 4, 9]);
    });
  });
}

Deno.test("12: what a process without the flag or the access sees", async (t) => {
  await t.step(
    "without --unstable-worker-options Deno stops the process, naming the flag",
    async () => {
      const { code, stdout, stderr } = await deno([
        "run",
        "--no-config",
        "-A",
        FAULTY_SCRIPT,
        "permissions",
      ]);
      // Deno 2.9 exits with code 70 inside new Worker(); nothing can catch it.
      assert.equal(code, 70, stdout + stderr);
      assert.match(stderr, /--unstable-worker-options/);
      assert.equal(stdout, "");
    },
  );
  await t.step("with the flag the same script runs", async () => {
    const { code, stdout, stderr } = await deno([
      "run",
      "--no-config",
      "--unstable-worker-options",
      "-A",
      FAULTY_SCRIPT,
      "permissions",
    ]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, "square 49\nlive 0\n");
  });
  await t.step(
    "a parent that cannot read multipool's modules: NotCapable at new Pool",
    async () => {
      // An empty directory of its own: it never contains the checkout, wherever that is.
      const elsewhere = await Deno.makeTempDir();
      const { code, stdout, stderr } = await deno([
        "run",
        "--no-config",
        "--unstable-worker-options",
        `--allow-read=${elsewhere}`,
        FAULTY_SCRIPT,
        "permissions",
      ]).finally(() => Deno.remove(elsewhere));
      assert.equal(code, 0, stderr);
      assert.match(
        stdout,
        /^NotCapable: Option permissions asks for more than this process has \(Can't escalate parent thread permissions\): .*multipool adds access to its own modules \(file:.*\/src\/\)/,
      );
      assert.match(stdout, /\nlive 0\n$/);
    },
  );
});

Deno.test("12: a host that cannot load the thread bootstrap gets NotCapable at new Pool", async () => {
  // Permissions are checked against the parent, so the pool itself cannot
  // produce this; a parent without read access to multipool's modules can.
  const { code, stdout, stderr } = await deno(["run", "--no-config", FAULTY_SCRIPT, "noread"]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^NotCapable: Requires read access to .*_thread_worker\.ts/);
  assert.match(stdout, /\nlive 0\n$/);
});
