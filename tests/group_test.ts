import assert from "node:assert/strict";
import { Group } from "../src/group.ts";
import { Job } from "../src/job.ts";
import { sleep } from "../src/sleep.ts";
import { PoolClosedError } from "../src/errors.ts";
import { unhandledRejectionsDuring } from "./_group_helpers.ts";

/** A promise with its resolve/reject, to drive jobs step by step. */
function gate<T = void>(): PromiseWithResolvers<T> {
  return Promise.withResolvers<T>();
}

/** Lets pending promise reactions and zero-delay timers run. */
function settle(): Promise<void> {
  return sleep(0);
}

/** Asserts an error message starts with a capital letter and has no trailing period. */
function assertMessageStyle(error: unknown): void {
  assert.ok(error instanceof Error);
  assert.match(error.message, /^[A-Z]/);
  assert.doesNotMatch(error.message, /\.$/);
}

Deno.test("Group.spawn runs a job and the job reports its value", async (t) => {
  await t.step("an async job", async () => {
    await using group = new Group();
    const job = group.spawn(async (signal) => {
      assert.ok(signal instanceof AbortSignal);
      await sleep(1, { signal });
      return "value";
    });
    assert.ok(job instanceof Job);
    assert.equal(job.ready(), false);
    assert.equal(await job, "value");
    assert.equal(job.ready(), true);
    assert.equal(job.successful(), true);
    assert.equal(job.value, "value");
    assert.equal(job.error, undefined);
  });

  await t.step("a synchronous job settles inside spawn", async () => {
    await using group = new Group({ limit: 1 });
    const job = group.spawn(() => 5);
    assert.equal(job.ready(), true);
    assert.equal(job.value, 5);
    assert.equal(group.size, 0);
    assert.equal(await group.join(), true);
  });

  await t.step("a synchronous throw becomes the job's error, not a throw from spawn", async () => {
    const group = new Group();
    const boom = new Error("sync boom");
    const job = group.spawn(() => {
      throw boom;
    });
    assert.equal(job.ready(), true);
    assert.equal(job.error, boom);
    await assert.rejects(group.join(), (e) => e === boom);
  });
});

Deno.test("Group limit bounds concurrency and starts waiting jobs in spawn order", async () => {
  await using group = new Group({ limit: 3 });
  let active = 0;
  let peak = 0;
  const started: number[] = [];
  const jobs = Array.from({ length: 12 }, (_, i) =>
    group.spawn(async (signal) => {
      started.push(i);
      peak = Math.max(peak, ++active);
      await sleep(i % 3, { signal });
      active--;
      return i;
    }));
  assert.equal(group.size, 12);
  assert.equal(group.freeCount, 0);
  assert.equal(group.full, true);
  assert.deepEqual(started, [0, 1, 2]);
  assert.equal(await group.join(), true);
  assert.equal(peak, 3);
  assert.deepEqual(started, [...Array(12).keys()]);
  assert.deepEqual(await Promise.all(jobs), [...Array(12).keys()]);
  assert.equal(group.size, 0);
  assert.equal(group.freeCount, 3);
  assert.equal(group.full, false);
});

Deno.test("Group without a limit starts every job at once", async () => {
  await using group = new Group();
  const release = gate();
  let started = 0;
  for (let i = 0; i < 50; i++) {
    group.spawn(async () => {
      started++;
      await release.promise;
    });
  }
  assert.equal(started, 50);
  assert.equal(group.limit, Infinity);
  assert.equal(group.freeCount, Infinity);
  assert.equal(group.full, false);
  release.resolve();
});

Deno.test("Group with many queued synchronous jobs does not overflow the stack", async () => {
  await using group = new Group({ limit: 2 });
  const release = gate();
  group.spawn(() => release.promise);
  group.spawn(() => release.promise);
  let ran = 0;
  for (let i = 0; i < 50_000; i++) group.spawn(() => ran++);
  release.resolve();
  assert.equal(await group.join(), true);
  assert.equal(ran, 50_000);
});

Deno.test("Group.waitAvailable waits for a free slot", async (t) => {
  await t.step("resolves with freeCount once a job ends", async () => {
    await using group = new Group({ limit: 2 });
    const first = gate();
    group.spawn(() => first.promise);
    const short = group.spawn(() => sleep(2));
    assert.equal(group.freeCount, 0);
    assert.equal(await group.waitAvailable(), 1);
    assert.equal(short.ready(), true);
    first.resolve();
  });

  await t.step("resolves at once when there is room, 0 when the timeout runs out", async () => {
    await using group = new Group({ limit: 1 });
    assert.equal(await group.waitAvailable(), 1);
    const release = gate();
    group.spawn(() => release.promise);
    assert.equal(await group.waitAvailable(5), 0);
    assert.equal(await group.waitAvailable({ timeout: 5 }), 0);
    const waiting = group.waitAvailable(1000);
    release.resolve();
    assert.equal(await waiting, 1);
  });
});

Deno.test("Group.join waits for every job", async (t) => {
  await t.step("resolves true on an empty group", async () => {
    await using group = new Group();
    assert.equal(await group.join(), true);
  });

  await t.step("waits for jobs spawned by jobs", async () => {
    await using group = new Group({ limit: 2 });
    let inner: Job<string> | undefined;
    group.spawn(async () => {
      await sleep(1);
      inner = group.spawn(() => sleep(1).then(() => "inner"));
    });
    assert.equal(await group.join(), true);
    assert.equal(inner?.value, "inner");
  });

  await t.step("resolves false when the timeout runs out, leaving jobs running", async () => {
    await using group = new Group();
    const job = group.spawn((signal) => sleep(10_000, { signal }));
    assert.equal(await group.join(5), false);
    assert.equal(await group.join({ timeout: 5 }), false);
    assert.equal(job.ready(), false);
    group.kill();
    assert.equal(await group.join({ timeout: 1000 }), true);
  });
});

Deno.test("Group failure is structured", async (t) => {
  await t.step("the first failure aborts running siblings and cancels queued ones", async () => {
    const group = new Group({ limit: 2 });
    const boom = new Error("boom");
    const sibling = group.spawn((signal) => sleep(10_000, { signal }));
    const failing = group.spawn(async () => {
      await sleep(1);
      throw boom;
    });
    let queuedRan = false;
    const queued = group.spawn(() => {
      queuedRan = true;
    });
    await assert.rejects(group.join(), (e) => e === boom);
    assert.equal(failing.error, boom);
    assert.equal(sibling.signal.aborted, true);
    assert.equal(sibling.signal.reason, boom);
    assert.equal(sibling.error, boom);
    assert.equal(queued.ready(), true);
    assert.equal(queued.successful(), false);
    assert.equal(queuedRan, false);
    assert.equal(group.size, 0);
  });

  await t.step("join() waits for aborted siblings before rejecting", async () => {
    const group = new Group();
    let siblingDone = false;
    group.spawn(async (signal) => {
      await sleep(1000, { signal }).catch(() => {});
      await sleep(5); // ignores the abort for a moment
      siblingDone = true;
    });
    group.spawn(() => {
      throw new Error("fail");
    });
    await assert.rejects(group.join(), /fail/);
    assert.equal(siblingDone, true);
  });

  await t.step("several independent failures reject with an AggregateError", async () => {
    const group = new Group();
    const a = new Error("a");
    const b = new Error("b");
    group.spawn(() => Promise.reject(a));
    group.spawn(() => Promise.reject(b));
    group.spawn((signal) => sleep(10_000, { signal })); // cancelled: not counted
    const error = await group.join().catch((e) => e);
    assert.ok(error instanceof AggregateError);
    assert.deepEqual(error.errors, [a, b]);
    assertMessageStyle(error);
  });

  await t.step("a sibling that fails differently after the abort counts too", async () => {
    const group = new Group();
    const first = new Error("first");
    const second = new Error("second");
    group.spawn(async (signal) => {
      await sleep(1000, { signal }).catch(() => {});
      throw second;
    });
    group.spawn(async () => {
      await sleep(1);
      throw first;
    });
    const error = await group.join().catch((e) => e);
    assert.ok(error instanceof AggregateError);
    assert.deepEqual(error.errors, [first, second]);
  });

  await t.step("a sibling rejecting with an AbortError after the abort is cancelled", async () => {
    const group = new Group();
    const boom = new Error("boom");
    group.spawn(async (signal) => {
      await sleep(1000, { signal }).catch(() => {});
      throw new DOMException("stopped", "AbortError");
    });
    group.spawn(() => Promise.reject(boom));
    await assert.rejects(group.join(), (e) => e === boom);
  });

  await t.step("a failure is reported once and the group is usable again", async () => {
    const group = new Group({ limit: 1 });
    group.spawn(() => Promise.reject(new Error("once")));
    await assert.rejects(group.join(), /once/);
    assert.equal(await group.join(), true);
    assert.equal(await group.spawn(() => sleep(1).then(() => "again")), "again");
    await group[Symbol.asyncDispose]();
  });

  await t.step("jobs spawned before join() reports the failure are cancelled", async () => {
    const group = new Group();
    const boom = new Error("boom");
    group.spawn(() => Promise.reject(boom));
    await settle();
    let ran = false;
    const late = group.spawn(() => {
      ran = true;
    });
    assert.equal(late.ready(), true);
    assert.equal(late.error, boom);
    assert.equal(ran, false);
    await assert.rejects(group.join(), (e) => e === boom);
  });

  await t.step("concurrent joins both see the same failure", async () => {
    const group = new Group();
    const boom = new Error("boom");
    group.spawn(() => sleep(2).then(() => Promise.reject(boom)));
    const results = await Promise.allSettled([group.join(), group.join()]);
    assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected"]);
    assert.equal(await group.join(), true);
  });

  await t.step("errors nobody awaits never become unhandled rejections", async () => {
    const group = new Group();
    const unhandled = await unhandledRejectionsDuring(async () => {
      group.spawn(() => Promise.reject(new Error("ignored 1")));
      group.spawn(() => {
        throw new Error("ignored 2");
      });
      await sleep(10);
    });
    assert.equal(unhandled, 0);
    const error = await group.join().catch((e) => e);
    assert.ok(error instanceof AggregateError);
  });
});

Deno.test("Job.kill and Group.kill", async (t) => {
  await t.step("kill settles a running job even if it ignores its signal", async () => {
    await using group = new Group();
    const never = new Promise<never>(() => {});
    const job = group.spawn(() => never);
    job.kill();
    assert.equal(job.ready(), true);
    assert.equal(job.killed, true);
    assert.equal(job.signal.aborted, true);
    assert.ok(job.error instanceof DOMException);
    assert.equal((job.error as DOMException).name, "AbortError");
    await assert.rejects(job, (e) => e === job.error);
    assert.equal(group.size, 0);
    assert.equal(await group.join(), true); // a kill is not a failure
  });

  await t.step("kill with a reason; a queued job never starts and frees its place", async () => {
    await using group = new Group({ limit: 1 });
    const first = group.spawn((signal) => sleep(10_000, { signal }));
    let ran = false;
    const second = group.spawn(() => {
      ran = true;
    });
    const third = group.spawn(() => "third");
    const reason = new Error("not needed");
    second.kill(reason);
    assert.equal(second.error, reason);
    assert.equal(group.size, 2);
    first.kill();
    assert.equal(await third, "third");
    assert.equal(ran, false);
  });

  await t.step("kill after the job is ready changes nothing", async () => {
    await using group = new Group();
    const job = group.spawn(() => "done");
    job.kill();
    assert.equal(job.successful(), true);
    assert.equal(job.killed, false);
    assert.equal(job.value, "done");
  });

  await t.step("Group.kill kills running and queued jobs; the group stays usable", async () => {
    await using group = new Group({ limit: 2 });
    const jobs = Array.from(
      { length: 5 },
      () => group.spawn((signal) => sleep(10_000, { signal })),
    );
    const reason = new Error("shutdown");
    group.kill(reason);
    assert.equal(group.size, 0);
    for (const job of jobs) {
      assert.equal(job.killed, true);
      assert.equal(job.error, reason);
    }
    assert.equal(await group.join(), true);
    assert.equal(await group.spawn(() => "after"), "after");
  });

  await t.step("Group.kill uses an AbortError by default", async () => {
    await using group = new Group();
    const job = group.spawn((signal) => sleep(10_000, { signal }));
    group.kill();
    assert.equal((job.error as DOMException).name, "AbortError");
    assertMessageStyle(job.error);
  });
});

Deno.test("Group signal option", async (t) => {
  await t.step("an abort aborts running jobs, cancels queued ones, join rejects once", async () => {
    const controller = new AbortController();
    const group = new Group({ limit: 1, signal: controller.signal });
    const running = group.spawn((signal) => sleep(10_000, { signal }));
    let queuedRan = false;
    const queued = group.spawn(() => {
      queuedRan = true;
    });
    const reason = new Error("cancelled from outside");
    controller.abort(reason);
    await assert.rejects(group.join(), (e) => e === reason);
    assert.equal(running.error, reason);
    assert.equal(queued.error, reason);
    assert.equal(queuedRan, false);
    assert.equal(await group.join(), true);
  });

  await t.step("jobs spawned after the abort are cancelled at once", async () => {
    const controller = new AbortController();
    controller.abort(new Error("early"));
    const group = new Group({ signal: controller.signal });
    let ran = false;
    const job = group.spawn(() => {
      ran = true;
    });
    assert.equal(ran, false);
    assert.equal((job.error as Error).message, "early");
    await assert.rejects(group.join(), /early/);
  });

  await t.step("an abort after the work is done is not reported", async () => {
    const controller = new AbortController();
    await using group = new Group({ signal: controller.signal });
    await group.spawn(() => sleep(1));
    controller.abort();
    assert.equal(await group.join(), true);
  });
});

Deno.test("Group.close and disposal", async (t) => {
  await t.step("spawn and maps throw after close; running jobs finish", async () => {
    const group = new Group();
    const job = group.spawn(() => sleep(2).then(() => "finished"));
    group.close();
    assert.equal(group.closed, true);
    assert.throws(() => group.spawn(() => 1), PoolClosedError);
    assert.throws(() => group.imap((x: number) => x, [1]), PoolClosedError);
    await assert.rejects(group.map((x: number) => x, [1]), PoolClosedError);
    try {
      group.spawn(() => 1);
    } catch (error) {
      assertMessageStyle(error);
    }
    assert.equal(await group.join(), true);
    assert.equal(job.value, "finished");
  });

  await t.step("await using waits for every job, then spawning throws", async () => {
    let group: Group | undefined;
    let job: Job<string> | undefined;
    {
      await using scoped = new Group({ limit: 1 });
      group = scoped;
      scoped.spawn(() => sleep(2));
      job = scoped.spawn(() => sleep(2).then(() => "last"));
    }
    assert.equal(job.value, "last");
    assert.equal(group.size, 0);
    assert.throws(() => group!.spawn(() => 1), PoolClosedError);
  });

  await t.step("disposal rejects with a failure join() has not reported", async () => {
    const boom = new Error("unreported");
    const dispose = async () => {
      await using group = new Group();
      group.spawn(() => Promise.reject(boom));
    };
    await assert.rejects(dispose(), (e) => e === boom);
  });

  await t.step("disposal after a reported failure does not throw it again", async () => {
    await using group = new Group();
    group.spawn(() => Promise.reject(new Error("reported")));
    await assert.rejects(group.join(), /reported/);
  });

  await t.step("disposal removes the listener from the group's signal", async () => {
    const controller = new AbortController();
    {
      await using group = new Group({ signal: controller.signal });
      await group.spawn(() => sleep(1));
    }
    controller.abort(); // nothing listens any more: no throw, no effect
    assert.equal(controller.signal.aborted, true);
  });
});

Deno.test("Group rejects bad arguments with TypeError or RangeError naming them", async (t) => {
  await t.step("limit", () => {
    for (const limit of [-1, 1.5, NaN, "3", null]) {
      const error = (() => {
        try {
          new Group({ limit: limit as number });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(error instanceof RangeError, `limit ${String(limit)}`);
      assert.match(error.message, /limit/);
      assert.match(error.message, /an integer >= 0/);
      assertMessageStyle(error);
    }
    assert.equal(new Group({ limit: Infinity }).limit, Infinity);
    assert.equal(new Group({ limit: 0 }).limit, 0);
    assert.equal(new Group({ limit: 7 }).limit, 7);
  });

  await t.step("options and signal", () => {
    assert.throws(
      () => new Group(5 as never),
      (e) => e instanceof TypeError && /options/.test(e.message),
    );
    assert.throws(
      () => new Group({ signal: "nope" as never }),
      (e) => e instanceof TypeError && /signal/.test(e.message),
    );
  });

  await t.step("spawn, join, waitAvailable and maps", async () => {
    await using group = new Group();
    assert.throws(
      () => group.spawn("fn" as never),
      (e) => e instanceof TypeError && /fn/.test(e.message) && /function/.test(e.message),
    );
    await assert.rejects(
      group.join(-1),
      (e) => e instanceof RangeError && /timeout/.test(e.message),
    );
    await assert.rejects(group.join({ timeout: NaN }), RangeError);
    await assert.rejects(group.join("1" as never), TypeError);
    await assert.rejects(group.waitAvailable(-5), RangeError);
    assert.throws(
      () => group.imap((x: number) => x, 42 as never),
      (e) => e instanceof TypeError && /source/.test(e.message),
    );
    assert.throws(() => group.imap(null as never, [1]), TypeError);
    assert.throws(
      () => group.imapUnordered((x: number) => x, [1], { limit: 0 }),
      (e) => e instanceof RangeError && /options\.limit/.test(e.message),
    );
    assert.throws(
      () => group.imap((x: number) => x, [1], { buffersize: 0 }),
      (e) => e instanceof RangeError && /options\.buffersize/.test(e.message),
    );
    assert.throws(() => group.imap((x: number) => x, [1], { signal: {} as never }), TypeError);
    await assert.rejects(group.map((x: number) => x, {} as never), TypeError);
    await assert.rejects(
      group.map((x: number) => x, [1], null as never),
      (e) => e instanceof TypeError && /options/.test(e.message),
    );
  });
});
