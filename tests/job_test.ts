import assert from "node:assert/strict";
import { Job, joinAll, spawn } from "../src/job.ts";
import { sleep } from "../src/sleep.ts";
import { TimeoutError } from "../src/errors.ts";
import { unhandledRejectionsDuring } from "./_group_helpers.ts";

Deno.test("spawn starts a standalone job", async (t) => {
  await t.step("value, ready, successful, awaitable", async () => {
    const job = spawn(async (signal) => {
      await sleep(1, { signal });
      return { answer: 42 };
    });
    assert.ok(job instanceof Job);
    assert.equal(job.ready(), false);
    assert.equal(job.value, undefined);
    assert.deepEqual(await job, { answer: 42 });
    assert.equal(job.ready(), true);
    assert.equal(job.successful(), true);
    assert.deepEqual(job.value, { answer: 42 });
    assert.equal(job.error, undefined);
    assert.equal(job.killed, false);
  });

  await t.step("then, catch, finally and Promise compatibility", async () => {
    const ok: Promise<number> = spawn(() => 2);
    assert.equal(String(ok), "[object Job]");
    assert.equal(await ok.then((x) => x * 3), 6);
    const failing = spawn((): number => {
      throw new Error("bad");
    });
    assert.equal(await failing.catch(() => -1), -1);
    let finalized = false;
    await assert.rejects(failing.finally(() => (finalized = true)), /bad/);
    assert.equal(finalized, true);
    assert.deepEqual(await Promise.all([spawn(() => 1), spawn(() => Promise.resolve(2))]), [1, 2]);
  });

  await t.step("a function returning a non-native thenable", async () => {
    const thenable: PromiseLike<string> = {
      then: (resolve) => Promise.resolve("from thenable").then(resolve),
    };
    assert.equal(await spawn(() => thenable), "from thenable");
  });

  await t.step("a failed job nobody awaits is no unhandled rejection", async () => {
    let job: Job<never> | undefined;
    const unhandled = await unhandledRejectionsDuring(async () => {
      job = spawn(() => Promise.reject(new Error("nobody listens")));
      await sleep(0);
    });
    assert.equal(unhandled, 0);
    assert.equal(job?.successful(), false);
    assert.equal((job?.error as Error).message, "nobody listens");
  });

  await t.step("spawn rejects a non-function with a TypeError naming fn", () => {
    assert.throws(() => spawn(42 as never), (e) => e instanceof TypeError && /fn/.test(e.message));
  });
});

Deno.test("Job.successful throws before the job is ready", async () => {
  const job = spawn((signal) => sleep(10_000, { signal }));
  assert.throws(() => job.successful(), (e) => e instanceof Error && /not ready/.test(e.message));
  job.kill();
  assert.equal(job.successful(), false);
  await assert.rejects(job);
});

Deno.test("Job.join and Job.get with timeouts", async (t) => {
  await t.step("join resolves false on timeout, never rejects", async () => {
    const job = spawn((signal) => sleep(10_000, { signal }).then(() => "late"));
    assert.equal(await job.join(5), false);
    assert.equal(await job.join({ timeout: 5 }), false);
    job.kill(new Error("stop"));
    assert.equal(await job.join(), true);
    assert.equal(await job.join(0), true);
  });

  await t.step("join resolves true for a failed job", async () => {
    const job = spawn(() => Promise.reject(new Error("x")));
    assert.equal(await job.join(), true);
  });

  await t.step("get resolves with the value or rejects with the error", async () => {
    assert.equal(await spawn(() => sleep(1).then(() => "v")).get(), "v");
    assert.equal(await spawn(() => "now").get(1000), "now");
    await assert.rejects(spawn(() => Promise.reject(new Error("failed"))).get(1000), /failed/);
  });

  await t.step("get rejects with TimeoutError and the job goes on", async () => {
    const job = spawn(() => sleep(20).then(() => "eventually"));
    const error = await job.get(1).catch((e) => e);
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.name, "TimeoutError");
    assert.match(error.message, /^Job did not finish within 1 ms$/);
    assert.equal(job.ready(), false);
    assert.equal(await job, "eventually");
  });

  await t.step("bad timeouts are a RangeError or TypeError", async () => {
    const job = spawn(() => 1);
    await assert.rejects(job.join(-1), RangeError);
    await assert.rejects(job.get(NaN), RangeError);
    await assert.rejects(
      job.get({ timeout: -2 }),
      (e) => e instanceof RangeError && /timeout/.test(e.message),
    );
    await assert.rejects(job.join("5" as never), TypeError);
  });
});

Deno.test("Job.kill", async (t) => {
  await t.step("settles a job whose function ignores the signal", async () => {
    const never = new Promise<string>(() => {});
    const job = spawn(() => never);
    const reason = new Error("killed by test");
    job.kill(reason);
    assert.equal(job.ready(), true);
    assert.equal(job.killed, true);
    assert.equal(job.error, reason);
    assert.equal(job.signal.aborted, true);
    assert.equal(job.signal.reason, reason);
    await assert.rejects(job, (e) => e === reason);
  });

  await t.step("the function sees the abort through its signal", async () => {
    let seen: unknown;
    const job = spawn(async (signal) => {
      try {
        await sleep(10_000, { signal });
      } catch (error) {
        seen = error;
      }
    });
    job.kill();
    await sleep(0);
    assert.ok(seen instanceof DOMException);
    assert.equal(seen.name, "AbortError");
    assert.equal(seen, job.error);
  });
});

Deno.test("joinAll waits for several jobs", async (t) => {
  await t.step("resolves with every job, in input order", async () => {
    const jobs = [30, 1, 10].map((ms) => spawn(() => sleep(ms).then(() => ms)));
    const done = await joinAll(jobs);
    assert.deepEqual(done, jobs);
    assert.deepEqual(done.map((job) => job.value), [30, 1, 10]);
  });

  await t.step("failures stay in the jobs without raiseError", async () => {
    const ok = spawn(() => "ok");
    const bad = spawn(() => Promise.reject(new Error("bad")));
    const done = await joinAll([ok, bad]);
    assert.deepEqual(done, [ok, bad]);
    assert.equal(bad.successful(), false);
  });

  await t.step("with a timeout, only the finished jobs", async () => {
    const fast = spawn(() => sleep(1));
    const slow = spawn((signal) => sleep(10_000, { signal }));
    const done = await joinAll([fast, slow], { timeout: 20 });
    assert.deepEqual(done, [fast]);
    assert.equal(slow.ready(), false);
    slow.kill();
  });

  await t.step("raiseError rejects with the first failure after aborting the others", async () => {
    const boom = new Error("boom");
    let siblingFinished = false;
    const sibling = spawn(async (signal) => {
      await sleep(10_000, { signal }).catch(() => {});
      await sleep(2);
      siblingFinished = true;
    });
    const failing = spawn(() => sleep(1).then(() => Promise.reject(boom)));
    await assert.rejects(joinAll([sibling, failing], { raiseError: true }), (e) => e === boom);
    assert.equal(sibling.signal.aborted, true);
    assert.equal(siblingFinished, true, "the sibling was awaited, not left running");
  });

  await t.step("raiseError does not count killed jobs", async () => {
    const killed = spawn((signal) => sleep(10_000, { signal }));
    killed.kill();
    const ok = spawn(() => 1);
    assert.deepEqual(await joinAll([killed, ok], { raiseError: true }), [killed, ok]);
  });

  await t.step("an empty list, and a generator of jobs", async () => {
    assert.deepEqual(await joinAll([]), []);
    function* jobs() {
      yield spawn(() => 1);
      yield spawn(() => 2);
    }
    assert.equal((await joinAll(jobs())).length, 2);
  });

  await t.step("bad arguments reject with a TypeError naming them", async () => {
    await assert.rejects(
      joinAll(5 as never),
      (e) => e instanceof TypeError && /jobs/.test(e.message),
    );
    await assert.rejects(
      joinAll([spawn(() => 1), Promise.resolve(2)] as never),
      (e) => e instanceof TypeError && /jobs\[1\]/.test(e.message),
    );
    await assert.rejects(joinAll([], { timeout: -1 }), RangeError);
  });
});

Deno.test("the internals groups use to create, start and abort jobs are not public", async () => {
  const mod: Record<string, unknown> = await import("../mod.ts");
  for (const name of ["createJob", "startJob", "abortJob"]) assert.equal(name in mod, false, name);
});
