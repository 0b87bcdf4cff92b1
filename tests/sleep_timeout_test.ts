import assert from "node:assert/strict";
import { sleep } from "../src/sleep.ts";
import { withTimeout } from "../src/timeout.ts";
import { TimeoutError } from "../src/errors.ts";
import { unhandledRejectionsDuring } from "./_group_helpers.ts";

Deno.test("sleep", async (t) => {
  await t.step("resolves after about ms", async () => {
    const start = performance.now();
    assert.equal(await sleep(15), undefined);
    assert.ok(performance.now() - start >= 10);
    await sleep(0);
  });

  await t.step("an abort clears the timer and rejects with the reason", async () => {
    const controller = new AbortController();
    const napping = sleep(10_000, { signal: controller.signal });
    const reason = new Error("wake up");
    controller.abort(reason);
    await assert.rejects(napping, (e) => e === reason);
  });

  await t.step("an already aborted signal rejects at once", async () => {
    await assert.rejects(
      sleep(10_000, { signal: AbortSignal.abort() }),
      (e) => (e as Error).name === "AbortError",
    );
  });

  await t.step("a signal that never aborts does not keep a listener after the sleep", async () => {
    const controller = new AbortController();
    await sleep(1, { signal: controller.signal });
    controller.abort(); // no listener left: nothing happens
    assert.equal(controller.signal.aborted, true);
  });

  await t.step("Infinity waits until the abort", async () => {
    const controller = new AbortController();
    const forever = sleep(Infinity, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("done waiting")), 5);
    await assert.rejects(forever, /done waiting/);
  });

  await t.step("bad arguments", async () => {
    for (const ms of [-1, NaN, 2 ** 31]) {
      await assert.rejects(
        sleep(ms),
        (e) => e instanceof RangeError && /ms/.test(e.message) && /^[A-Z]/.test(e.message),
      );
    }
    await assert.rejects(
      sleep("5" as never),
      (e) => e instanceof TypeError && /ms/.test(e.message) && /number/.test(e.message),
    );
    await assert.rejects(
      sleep(Infinity),
      (e) => e instanceof RangeError && /signal/.test(e.message),
    );
    await assert.rejects(sleep(1, { signal: "x" as never }), TypeError);
  });
});

Deno.test("withTimeout", async (t) => {
  await t.step("resolves with the value in time (promise or function)", async () => {
    assert.equal(await withTimeout(Promise.resolve(1), 100), 1);
    assert.equal(await withTimeout(() => 2, 100), 2);
    assert.equal(await withTimeout((signal) => sleep(1, { signal }).then(() => 3), 1000), 3);
    assert.equal(await withTimeout(sleep(1).then(() => 4), Infinity), 4);
  });

  await t.step("rejects with the work's own error", async () => {
    await assert.rejects(withTimeout(Promise.reject(new Error("own")), 100), /own/);
    await assert.rejects(
      withTimeout(() => {
        throw new Error("sync");
      }, 100),
      /sync/,
    );
  });

  await t.step("rejects with TimeoutError and aborts the function's signal", async () => {
    let signal: AbortSignal | undefined;
    const error = await withTimeout((s) => {
      signal = s;
      return sleep(10_000, { signal: s });
    }, 5).catch((e) => e);
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.name, "TimeoutError");
    assert.equal(error.message, "Timed out after 5 ms");
    assert.equal(signal?.aborted, true);
    assert.equal(signal?.reason, error);
  });

  await t.step("a bare promise that loses the race and rejects later is ignored", async () => {
    const unhandled = await unhandledRejectionsDuring(async () => {
      const late = sleep(15).then(() => Promise.reject(new Error("late")));
      await assert.rejects(withTimeout(late, 1), TimeoutError);
    }, 30);
    assert.equal(unhandled, 0);
  });

  await t.step("options.signal aborts the wait and the work", async () => {
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    const waiting = withTimeout(
      (s) => {
        inner = s;
        return sleep(10_000, { signal: s });
      },
      10_000,
      { signal: controller.signal },
    );
    const reason = new Error("user cancelled");
    controller.abort(reason);
    await assert.rejects(waiting, (e) => e === reason);
    assert.equal(inner?.reason, reason);
    await assert.rejects(
      withTimeout(() => 1, 10, { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
  });

  await t.step("bad arguments", async () => {
    await assert.rejects(
      withTimeout(5 as never, 10),
      (e) => e instanceof TypeError && /work/.test(e.message),
    );
    await assert.rejects(
      withTimeout(() => 1, -1),
      (e) => e instanceof RangeError && /ms/.test(e.message),
    );
    await assert.rejects(withTimeout(() => 1, 10, { signal: 1 as never }), TypeError);
  });
});
