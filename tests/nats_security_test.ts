import assert from "node:assert/strict";
import { Pool, RemoteError } from "../mod.ts";
import { nats } from "../nats.ts";
import { BACKEND_NAMES } from "../src/backend.ts";
import { freePort } from "../scripts/local_cluster.ts";
import { openConnection } from "../src/_nats_client.ts";
import { delay, tasks } from "./_helpers.ts";
import { natsTest, withCluster } from "./_nats_helpers.ts";

const cli = new URL("../worker_cli.ts", import.meta.url);

async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli.href, ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code, out: text.decode(stdout), err: text.decode(stderr) };
}

natsTest("nats: inline functions run only on workers started with --allow-inline", async () => {
  await withCluster({ workers: 1, args: ["--concurrency", "1"] }, async (cluster) => {
    await using pool = new Pool({ size: 1, backend: cluster.backend() });
    await assert.rejects(pool.apply((x: number) => x + 1, [1]), (error: unknown) => {
      assert.ok(error instanceof RemoteError);
      assert.match(
        error.message,
        /Inline tasks are refused by worker w1: start it with --allow-inline/,
      );
      return true;
    });
    assert.equal(await pool.apply(tasks.square, [4]), 16, "task modules still run");
    await cluster.addWorker("trusting", ["--allow-inline", "--concurrency", "1"]);
    await cluster.workers[0].stop();
    assert.equal(await pool.apply((x: number) => x + 1, [1]), 2);
  });
});

natsTest("nats: token authentication passes through to the client, on both ends", async () => {
  const token = "s3cret-token";
  await withCluster(
    { workers: 1, serverArgs: ["--auth", token], connect: { token } },
    async (cluster) => {
      await using pool = new Pool({ size: 1, backend: cluster.backend() });
      assert.equal(await pool.apply(tasks.square, [3]), 9);
      await using wrong = new Pool({ size: 1, backend: cluster.backend({ token: "wrong" }) });
      await assert.rejects(
        wrong.apply(tasks.square, [3]),
        /Cannot connect to NATS server nats:\/\/127\.0\.0\.1:\d+: .*[Aa]uthorization/,
      );
      await using noCreds = new Pool({
        size: 1,
        backend: cluster.backend({ credentials: "/no/such/user.creds" }),
      });
      await assert.rejects(
        noCreds.apply(tasks.square, [3]),
        /Cannot read the NATS credentials file \/no\/such\/user\.creds/,
      );
      const worker = await runCli([
        "--servers",
        cluster.server.url,
        "--pool",
        "test",
        "--token",
        "wrong",
      ]);
      assert.equal(worker.code, 1);
      assert.match(
        worker.err,
        /Cannot start worker .*: Cannot connect to NATS server .*[Aa]uthorization/,
      );
    },
  );
});

natsTest("nats: refused logins never leave an uncaught socket error behind", async () => {
  // The client's own transport let a reset after a refused login escape as an uncaught
  // ECONNRESET in about 8% of attempts, ending the program; the test runner reports any.
  await withCluster({ workers: 0, serverArgs: ["--auth", "right"] }, async (cluster) => {
    let refused = 0;
    for (let i = 0; i < 100; i++) {
      await openConnection({ servers: [cluster.server.url], token: "wrong" }).then(
        (nc) => nc.close(),
        () => refused++,
      );
    }
    assert.equal(refused, 100);
    await delay(300); // a late reset would surface now
  });
});

natsTest("nats: user and password pass through to the client", async () => {
  const connect = { user: "alice", pass: "wonderland" };
  await withCluster(
    { workers: 1, serverArgs: ["--user", "alice", "--pass", "wonderland"], connect },
    async (cluster) => {
      await using pool = new Pool({ size: 1, backend: cluster.backend() });
      assert.equal(await pool.apply(tasks.add, [3, 4]), 7);
      await using wrong = new Pool({ size: 1, backend: cluster.backend({ pass: "nope" }) });
      await assert.rejects(wrong.apply(tasks.add, [3, 4]), /[Aa]uthorization/);
    },
  );
});

Deno.test("nats worker CLI: --help prints usage; a bad flag exits 2 naming it", async (t) => {
  await t.step("--help", async () => {
    const { code, out } = await runCli(["--help"]);
    assert.equal(code, 0);
    assert.match(out, /^Usage: deno run -A jsr:@multipool\/multipool\/worker/);
    assert.match(out, /--allow-inline/);
  });
  const bad: [string[], RegExp][] = [
    [["--bogus"], /--bogus/],
    [["--concurrency", "0"], /Flag --concurrency must be an integer >= 1, got "0"/],
    [["--pool", "a.b"], /Flag --pool must be/],
    [["--backend", "gpu"], /Flag --backend must be thread or process, got "gpu"/],
    [["--ack-wait", "soon"], /Flag --ack-wait must be a duration/],
    [["--password", "x"], /Flag --password needs --user/],
  ];
  if (!BACKEND_NAMES.includes("process")) {
    bad.push([
      ["--backend", "process"],
      /Flag --backend process needs multipool's process backend/,
    ]);
  }
  for (const [args, message] of bad) {
    await t.step(args.join(" "), async () => {
      const { code, err } = await runCli(args);
      assert.equal(code, 2, err);
      assert.match(err, message);
      assert.match(err, /Run with --help for usage|needs multipool's/);
    });
  }
  await t.step("no server: exits 1 naming the server", async () => {
    const url = `nats://127.0.0.1:${freePort()}`;
    const { code, err } = await runCli(["--servers", url]);
    assert.equal(code, 1);
    assert.match(err, new RegExp(`Cannot connect to NATS server ${url.replaceAll(".", "\\.")}`));
  });
});

Deno.test("nats: nats() checks its options; local-only Pool options are refused by name", () => {
  assert.throws(() => nats({ pool: "a.b" }), /Option pool must be 1 to 64 letters/);
  assert.throws(() => nats({ servers: [] }), /Option servers must be a server URL/);
  assert.throws(() => nats({ pass: "x" }), /Option pass needs option user/);
  assert.throws(() => nats({ maxInFlight: 0 }), /Option maxInFlight must be a positive integer/);
  const backend = nats({ servers: "nats://10.0.0.5:4222, nats://10.0.0.6:4222", pool: "render" });
  assert.deepEqual(backend.servers, ["nats://10.0.0.5:4222", "nats://10.0.0.6:4222"]);
  assert.equal(backend.kind, "nats");
  assert.throws(
    () => new Pool({ backend, initializer: tasks.setup }),
    /Option initializer is not supported by the nats backend/,
  );
  assert.throws(
    () => new Pool({ backend, maxTasksPerWorker: 3 }),
    /Option maxTasksPerWorker is not supported by the nats backend/,
  );
});

Deno.test("mod.ts does not load the NATS client; nats.ts does", async () => {
  /** Every module in the graph of `entry`, and every specifier that led to one. */
  const graph = async (entry: string) => {
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", new URL(entry, import.meta.url).href],
      stderr: "null",
    }).output();
    assert.equal(code, 0);
    const info = JSON.parse(new TextDecoder().decode(stdout)) as {
      modules: { specifier: string; dependencies?: { specifier: string }[] }[];
      redirects: Record<string, string>;
    };
    return [
      ...info.modules.flatMap((
        m,
      ) => [m.specifier, ...(m.dependencies ?? []).map((d) => d.specifier)]),
      ...Object.keys(info.redirects),
    ].join("\n");
  };
  const core = await graph("../mod.ts");
  assert.match(core, /src\/pool\.ts/);
  assert.doesNotMatch(core, /@nats-io/);
  assert.match(await graph("../nats.ts"), /@nats-io\/transport-node@3\.4\.0/);
});
