// AsyncResult (issue 2 point 4) on plain promises, without workers:
// get(timeout), wait(timeout), ready(), successful(), awaiting, callbacks.

import assert from "node:assert/strict";
import { mock } from "node:test";
import { AsyncResult, TimeoutError } from "../mod.ts";
import { delay } from "./_helpers.ts";

/** An AsyncResult over a promise the test settles by hand. */
function pending<T>(options?: ConstructorParameters<typeof AsyncResult<T>>[1]) {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  return { result: new AsyncResult(promise, options), resolve, reject };
}

Deno.test("AsyncResult state: ready, successful, value, error", async (t) => {
  await t.step("pending, then fulfilled", async () => {
    const { result, resolve } = pending<number>();
    assert.equal(result.ready(), false);
    assert.throws(() => result.successful(), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /not ready/);
      return true;
    });
    assert.equal(result.value, undefined);
    resolve(7);
    assert.equal(await result, 7);
    assert.equal(result.ready(), true);
    assert.equal(result.successful(), true);
    assert.equal(result.value, 7);
    assert.equal(result.error, undefined);
  });

  await t.step("pending, then rejected", async () => {
    const { result, reject } = pending<number>();
    const boom = new Error("boom");
    reject(boom);
    await assert.rejects(result.get(), (e) => e === boom);
    assert.equal(result.ready(), true);
    assert.equal(result.successful(), false);
    assert.equal(result.error, boom);
    assert.equal(result.value, undefined);
  });

  await t.step("a rejected result nobody awaits is not an unhandled rejection", async () => {
    new AsyncResult(Promise.reject(new Error("ignored")));
    await delay(10); // the test would fail on an unhandled rejection
  });
});

Deno.test("AsyncResult.get(timeout)", async (t) => {
  await t.step("rejects with TimeoutError while pending; the work goes on", async () => {
    const { result, resolve } = pending<string>();
    const started = performance.now();
    await assert.rejects(result.get(30), (e: unknown) => {
      assert.ok(e instanceof TimeoutError);
      assert.ok(e instanceof Error);
      assert.equal(e.name, "TimeoutError");
      assert.match(e.message, /30 ms/);
      return true;
    });
    assert.ok(performance.now() - started >= 25);
    await assert.rejects(result.get(0), TimeoutError);
    assert.equal(result.ready(), false);
    resolve("later");
    assert.equal(await result.get(), "later");
    assert.equal(await result.get(0), "later", "a ready result needs no time");
  });

  await t.step("resolves before the timeout when the work finishes in time", async () => {
    const { result, resolve } = pending<number>();
    setTimeout(() => resolve(1), 10);
    // The timer inside is cleared: the ops sanitizer would catch a leak.
    assert.equal(await result.get(10_000), 1);
  });

  await t.step("a task error wins over the timeout", async () => {
    const { result, reject } = pending<number>();
    setTimeout(() => reject(new RangeError("bad")), 10);
    await assert.rejects(result.get(10_000), RangeError);
  });

  await t.step(
    "a timeout below 0 is a RangeError, one that is not a number a TypeError",
    async () => {
      const { result, resolve } = pending<number>();
      for (const timeout of [-1, NaN, 2 ** 31]) {
        await assert.rejects(result.get(timeout), (e: unknown) => {
          assert.ok(e instanceof RangeError);
          assert.match(e.message, /timeout/);
          return true;
        });
        await assert.rejects(result.wait(timeout), RangeError);
      }
      await assert.rejects(result.get("5" as never), TypeError);
      await assert.rejects(result.wait("5" as never), TypeError);
      resolve(0);
      await result;
    },
  );
});

Deno.test("AsyncResult.wait(timeout) reports readiness and never rejects", async () => {
  const { result, reject } = pending<number>();
  assert.equal(await result.wait(20), false);
  assert.equal(await result.wait(0), false);
  const waiting = result.wait();
  reject(new Error("failed"));
  assert.equal(await waiting, true);
  assert.equal(await result.wait(10_000), true);
  assert.equal(await result.wait(0), true);
  assert.equal(result.successful(), false);
});

Deno.test("AsyncResult is awaitable and chains like a promise", async () => {
  const ok = new AsyncResult(Promise.resolve(2));
  assert.equal(await ok, 2);
  assert.equal(await ok.then((v) => v * 10), 20);
  const failed = new AsyncResult<number>(Promise.reject(new Error("x")));
  assert.equal(await failed.then(() => "no", (e) => (e as Error).message), "x");
  assert.deepEqual(await Promise.all([ok, new AsyncResult(Promise.resolve("b"))]), [2, "b"]);
});

Deno.test("AsyncResult callbacks: exactly one runs, once, before awaiters resume", async (t) => {
  await t.step("callback on success", async () => {
    const order: string[] = [];
    const callback = mock.fn((value: number) => order.push(`callback ${value}`));
    const errorCallback = mock.fn();
    const { result, resolve } = pending<number>({ callback, errorCallback });
    resolve(3);
    await result;
    order.push("awaited");
    await result;
    assert.deepEqual(order, ["callback 3", "awaited"]);
    assert.equal(callback.mock.callCount(), 1);
    assert.equal(errorCallback.mock.callCount(), 0);
  });

  await t.step("errorCallback on failure", async () => {
    const callback = mock.fn();
    const errorCallback = mock.fn();
    const boom = new Error("boom");
    const { result, reject } = pending<number>({ callback, errorCallback });
    reject(boom);
    await result.wait();
    await result.wait();
    assert.equal(callback.mock.callCount(), 0);
    assert.equal(errorCallback.mock.callCount(), 1);
    assert.equal(errorCallback.mock.calls[0].arguments[0], boom);
  });

  await t.step("a callback that throws goes to onCallbackError; the result stands", async () => {
    const reported: unknown[] = [];
    const bug = new Error("callback bug");
    const { result, resolve } = pending<number>({
      callback: () => {
        throw bug;
      },
      onCallbackError: (e) => reported.push(e),
    });
    resolve(1);
    assert.equal(await result, 1);
    assert.equal(result.successful(), true);
    assert.deepEqual(reported, [bug]);
  });

  await t.step("without onCallbackError, a throwing callback goes to console.error", async () => {
    const consoleError = mock.method(console, "error", () => {});
    try {
      const bug = new Error("errorCallback bug");
      const failure = new Error("task failed");
      const { result, reject } = pending<number>({
        errorCallback: () => {
          throw bug;
        },
      });
      reject(failure);
      await assert.rejects(result.get(), (e) => e === failure, "the task's error, not the bug");
      assert.equal(consoleError.mock.callCount(), 1);
      assert.ok((consoleError.mock.calls[0].arguments as unknown[]).includes(bug));
    } finally {
      consoleError.mock.restore();
    }
  });
});
