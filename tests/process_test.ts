import assert from "node:assert/strict";
import {
  KILLED_EXIT_CODE,
  liveWorkerCount,
  Process,
  RemoteError,
  TERMINATED_EXIT_CODE,
  WorkerCrashedError,
} from "../mod.ts";

/** Runs `fn`, then asserts that no worker outlived it. */
function test(name: string, fn: () => Promise<void>): void {
  Deno.test(name, async () => {
    const before = liveWorkerCount();
    await fn();
    assert.equal(liveWorkerCount(), before, "a worker outlived the test");
  });
}

test("Process runs its target with args and exits 0", async () => {
  const p = new Process({
    target: (a: number, b: number) => {
      if (a + b !== 5) throw new Error("wrong args");
    },
    args: [2, 3],
    name: "adder",
  });
  assert.equal(p.exitCode, null);
  assert.equal(p.isAlive(), false);
  p.start();
  assert.equal(p.isAlive(), true);
  await p.join();
  assert.equal(p.exitCode, 0);
  assert.equal(p.isAlive(), false);
  assert.equal(p.name, "adder");
  assert.equal(p.error, undefined);
});

test("Process pids are unique and names default from them", () => {
  const a = new Process({ target: () => {} });
  const b = new Process({ target: () => {} });
  assert.notEqual(a.pid, b.pid);
  assert.equal(a.name, `Process-${a.pid}`);
  return Promise.resolve();
});

test("a second start() throws", async () => {
  const p = new Process({ target: () => {} });
  p.start();
  assert.throws(() => p.start(), /already started/);
  await p.join();
});

test("join() before start() rejects", async () => {
  const p = new Process({ target: () => {} });
  await assert.rejects(p.join(), /not started/);
});

test("a target that throws gives exitCode 1 and keeps the error", async () => {
  const p = new Process({
    target: () => {
      throw new RangeError("bad input");
    },
  });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 1);
  assert.ok(p.error instanceof RemoteError);
  assert.equal((p.error.cause as Error).name, "RangeError");
});

test("an async target that rejects gives exitCode 1", async () => {
  const p = new Process({ target: () => Promise.reject(new Error("later")) });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 1);
});

test("a target that closes its worker gives exitCode 1 and join returns", async () => {
  const p = new Process({ target: () => (globalThis as unknown as { close(): void }).close() });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 1);
  assert.ok(p.error instanceof WorkerCrashedError);
});

test("an uncaught error in a timer crashes only the process", async () => {
  const p = new Process({
    target: () => {
      setTimeout(() => {
        throw new Error("in a timer");
      }, 1);
      return new Promise(() => {});
    },
  });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 1);
  assert.match(String(p.error), /in a timer/);
});

test("join(timeout) returns with the process still alive; terminate() ends it", async () => {
  const p = new Process({ target: () => new Promise(() => {}) });
  p.start();
  await p.join(30);
  assert.equal(p.isAlive(), true);
  assert.equal(p.exitCode, null);
  p.terminate();
  await p.join();
  assert.equal(p.exitCode, TERMINATED_EXIT_CODE);
  assert.ok(p.exitCode! < 0);
});

test("kill() ends an endless loop with a negative exitCode", async () => {
  const p = new Process({
    target: () => {
      while (true) { /* spin */ }
    },
  });
  p.start();
  await p.join(50);
  p.kill();
  await p.join();
  assert.equal(p.exitCode, KILLED_EXIT_CODE);
});

test("join(0) does not wait: it returns with the process still running", async () => {
  const p = new Process({ target: () => new Promise(() => {}) });
  p.start();
  const started = performance.now();
  await p.join(0);
  assert.ok(performance.now() - started < 1000);
  assert.equal(p.isAlive(), true);
  p.terminate();
  await p.join(0);
  assert.equal(p.exitCode, TERMINATED_EXIT_CODE);
});

test("bad options fail at the call; a bad join timeout rejects, never throws", async () => {
  assert.throws(() => new Process({ target: 42 as never }), TypeError);
  assert.throws(() => new Process({ target: () => {}, args: 1 as never }), /args/);
  assert.throws(() => new Process({ target: (f: unknown) => f, args: [() => 1] }), /args\[0\]/);
  const p = new Process({ target: () => {} });
  await assert.rejects(p.join(-1), (e) => e instanceof RangeError && /timeout/.test(e.message));
  await assert.rejects(p.join(NaN), RangeError);
  await assert.rejects(p.join("5" as never), TypeError);
});

test("permissions sandbox the process like a Pool's workers", async () => {
  const secret = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(secret, "secret");
    const p = new Process({
      target: (path: string) => Deno.readTextFile(path),
      args: [secret],
      permissions: "none",
    });
    p.start();
    await p.join();
    assert.equal(p.exitCode, 1);
    assert.match(String(p.error), /NotCapable|PermissionDenied|Requires read access/);
    const allowed = new Process({
      target: (path: string) => Deno.readTextFile(path),
      args: [secret],
      permissions: { read: [secret] },
    });
    allowed.start();
    await allowed.join();
    assert.equal(allowed.exitCode, 0);
  } finally {
    await Deno.remove(secret);
  }
});
