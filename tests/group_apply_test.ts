// Group.apply and Group.applyAsync (gevent's Pool.apply / apply_async),
// including a call from inside one of the group's jobs, which runs inline.

import assert from "node:assert/strict";
import { mock } from "node:test";
import { AsyncResult } from "../src/async_result.ts";
import { Group } from "../src/group.ts";
import { sleep } from "../src/sleep.ts";
import { PoolClosedError } from "../src/errors.ts";

/** Lets pending promise reactions and zero-delay timers run. */
function settle(): Promise<void> {
  return sleep(0);
}

Deno.test("Group.apply runs fn(...args, signal) as a job of the group", async (t) => {
  await t.step("resolves with the result; fn gets the args, then the job's signal", async () => {
    await using group = new Group();
    let seen: AbortSignal | undefined;
    const sum = await group.apply((a: number, b: number, signal) => {
      seen = signal;
      return a + b;
    }, [2, 3]);
    assert.equal(sum, 5);
    assert.ok(seen instanceof AbortSignal);
    assert.equal(await group.apply((s: string) => Promise.resolve(s.toUpperCase()), ["ok"]), "OK");
    assert.equal(await group.apply(() => "no args", []), "no args");
  });

  await t.step("it waits for a slot like spawn", async () => {
    await using group = new Group({ limit: 1 });
    const release = Promise.withResolvers<void>();
    group.spawn(() => release.promise);
    let started = false;
    const applying = group.apply(() => (started = true, "ran"), []);
    await settle();
    assert.equal(started, false);
    assert.equal(group.size, 2);
    release.resolve();
    assert.equal(await applying, "ran");
  });

  await t.step("its failure goes to the caller, not to join(), and aborts no sibling", async () => {
    await using group = new Group();
    const sibling = group.spawn((signal) => sleep(10_000, { signal }));
    const boom = new Error("apply failed");
    await assert.rejects(group.apply(() => Promise.reject(boom), []), (e) => e === boom);
    assert.equal(sibling.signal.aborted, false);
    sibling.kill();
    assert.equal(await group.join(), true);
  });

  await t.step("group.kill() aborts its signal and rejects it with the reason", async () => {
    await using group = new Group();
    let seen: AbortSignal | undefined;
    const applying = group.apply((signal) => {
      seen = signal;
      return sleep(10_000, { signal });
    }, []);
    await settle();
    const reason = new Error("killed");
    group.kill(reason);
    await assert.rejects(applying, (e) => e === reason);
    assert.equal(seen?.reason, reason);
  });

  await t.step("while the group is failing it is cancelled with the failure", async () => {
    const group = new Group();
    const boom = new Error("a job failed");
    group.spawn(() => Promise.reject(boom));
    await settle();
    let ran = false;
    await assert.rejects(group.apply(() => (ran = true), []), (e) => e === boom);
    assert.equal(ran, false);
    await assert.rejects(group.join(), (e) => e === boom);
  });
});

Deno.test("Group.apply from inside one of the group's jobs runs inline", async (t) => {
  await t.step("a full group does not deadlock (gevent's test_reentrant)", async () => {
    await using group = new Group({ limit: 1 });
    const result = await group.apply(
      (signal) => group.apply((a: number) => a + 1, [5], { signal }),
      [],
    );
    assert.equal(result, 6);
  });

  await t.step("the inline call gets the caller's signal and takes no slot", async () => {
    await using group = new Group({ limit: 1 });
    const job = group.spawn(async (signal) => {
      const inner = await group.apply(
        (x: number, innerSignal) => {
          assert.equal(innerSignal, signal);
          assert.equal(group.size, 1, "no second job");
          return x * 2;
        },
        [21],
        { signal },
      );
      return inner;
    });
    assert.equal(await job, 42);
  });

  await t.step("without the caller's signal the call queues for a slot", async () => {
    await using group = new Group({ limit: 1 });
    let innerRan = false;
    let inner: Promise<string> | undefined;
    const outer = group.spawn(async () => {
      inner = group.apply(() => (innerRan = true, "inner"), []);
      await settle();
      return innerRan;
    });
    assert.equal(await outer, false, "it waited for the slot its caller held");
    assert.equal(await inner, "inner");
  });

  await t.step("a signal of another group's job, or of a finished job, is not inline", async () => {
    await using group = new Group({ limit: 1 });
    await using other = new Group();
    const release = Promise.withResolvers<void>();
    group.spawn(() => release.promise);
    let ran = false;
    const foreign = other.spawn((signal) => group.apply(() => (ran = true), [], { signal }));
    await settle();
    assert.equal(ran, false, "it queued in the full group");
    release.resolve();
    await foreign;
    assert.equal(ran, true);
    const finished = group.spawn((signal) => signal);
    const stale = await finished;
    assert.equal(
      await group.apply(() => "queued, then ran", [], { signal: stale }),
      "queued, then ran",
    );
  });

  await t.step("an inline call still runs after close(), so jobs can finish", async () => {
    const group = new Group({ limit: 1 });
    const release = Promise.withResolvers<void>();
    const job = group.spawn(async (signal) => {
      await release.promise;
      return await group.apply(() => "finished", [], { signal });
    });
    group.close();
    await assert.rejects(group.apply(() => 1, []), PoolClosedError);
    release.resolve();
    assert.equal(await job, "finished");
    assert.equal(await group.join(), true);
  });

  await t.step("an aborted caller signal rejects the inline call", async () => {
    const group = new Group();
    const boom = new Error("sibling failed");
    let innerRan = false;
    const job = group.spawn(async (signal) => {
      await sleep(10_000, { signal }).catch(() => {});
      return await group.apply(() => (innerRan = true), [], { signal });
    });
    group.spawn(() => Promise.reject(boom));
    await assert.rejects(job, (e) => e === boom);
    assert.equal(innerRan, false);
    await assert.rejects(group.join(), (e) => e === boom);
  });
});

Deno.test("Group.apply options.signal from outside aborts the call", async () => {
  await using group = new Group();
  const controller = new AbortController();
  let seen: AbortSignal | undefined;
  const applying = group.apply(
    (signal) => {
      seen = signal;
      return sleep(10_000, { signal });
    },
    [],
    { signal: controller.signal },
  );
  await settle();
  const reason = new Error("caller gave up");
  controller.abort(reason);
  await assert.rejects(applying, (e) => e === reason);
  assert.equal(seen?.aborted, true);
  assert.equal(group.size, 0);
  let ran = false;
  await assert.rejects(
    group.apply(() => (ran = true), [], { signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
  assert.equal(ran, false);
});

Deno.test("Group.apply rejects bad input and never throws", async () => {
  await using group = new Group();
  const calls: [unknown, unknown, unknown, RegExp][] = [
    ["fn", [], {}, /fn/],
    [() => 1, 5, {}, /args/],
    [() => 1, [], 5, /options/],
    [() => 1, [], { signal: "no" }, /options\.signal/],
  ];
  for (const [fn, args, options, name] of calls) {
    let returned: unknown;
    assert.doesNotThrow(
      () => (returned = group.apply(fn as never, args as never, options as never)),
    );
    await assert.rejects(
      returned as Promise<unknown>,
      (e) => e instanceof TypeError && name.test(e.message),
    );
  }
  await using none = new Group({ limit: 0 });
  await assert.rejects(
    none.apply(() => 1, []),
    (e) => e instanceof RangeError && /limit 0/.test(e.message) && /apply/.test(e.message),
  );
});

Deno.test("Group.applyAsync returns an AsyncResult at once", async (t) => {
  await t.step("exactly one callback runs; a full group does not block the call", async () => {
    await using group = new Group({ limit: 1 });
    const release = Promise.withResolvers<void>();
    group.spawn(() => release.promise);
    const callback = mock.fn((_value: number) => {});
    const errorCallback = mock.fn((_error: unknown) => {});
    const result = group.applyAsync((x: number) => x * 2, [21], { callback, errorCallback });
    assert.ok(result instanceof AsyncResult);
    assert.equal(result.ready(), false);
    assert.equal(await result.wait(0), false);
    release.resolve();
    assert.equal(await result.get(1000), 42);
    assert.equal(result.successful(), true);
    assert.equal(callback.mock.callCount(), 1);
    assert.deepEqual(callback.mock.calls[0].arguments, [42]);
    assert.equal(errorCallback.mock.callCount(), 0);
  });

  await t.step("errorCallback gets the failure", async () => {
    await using group = new Group();
    const boom = new Error("boom");
    const errorCallback = mock.fn((_error: unknown) => {});
    const result = group.applyAsync(() => Promise.reject(boom), [], { errorCallback });
    await assert.rejects(result.get(), (e) => e === boom);
    assert.deepEqual(errorCallback.mock.calls.map((c) => c.arguments[0]), [boom]);
    assert.equal(await group.join(), true);
  });

  await t.step("bad input rejects the result instead of throwing", async () => {
    await using group = new Group();
    const errorCallback = mock.fn((_error: unknown) => {});
    let result: AsyncResult<unknown> | undefined;
    assert.doesNotThrow(() => (result = group.applyAsync("fn" as never, [], { errorCallback })));
    await assert.rejects(result!.get(), TypeError);
    assert.equal(errorCallback.mock.callCount(), 1);
    const badCallback = group.applyAsync(() => 1, [], { callback: 5 as never });
    await assert.rejects(
      badCallback.get(),
      (e) => e instanceof TypeError && /callback/.test(e.message),
    );
  });
});
