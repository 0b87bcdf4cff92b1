import assert from "node:assert/strict";
import { Condition } from "../src/_condition.ts";

Deno.test("Condition: until() resolves when the predicate holds after a notify", async () => {
  const condition = new Condition();
  let value = 0;
  let woken = false;
  const waiting = condition.until(() => value >= 2).then(() => (woken = true));
  value = 1;
  condition.notify();
  await Promise.resolve();
  assert.equal(woken, false);
  assert.equal(condition.waiting, 1);
  value = 2;
  condition.notify();
  await waiting;
  assert.equal(woken, true);
  assert.equal(condition.waiting, 0);
});

Deno.test("Condition: until() of a predicate that holds now resolves at once", async () => {
  const condition = new Condition();
  await condition.until(() => true);
  assert.equal(condition.waiting, 0);
});

Deno.test("Condition: next() waits for the next notify whatever the state", async () => {
  const condition = new Condition();
  let woken = 0;
  const a = condition.next().then(() => woken++);
  const b = condition.next().then(() => woken++);
  await Promise.resolve();
  assert.equal(woken, 0);
  condition.notify();
  await Promise.all([a, b]);
  assert.equal(woken, 2);
  const c = condition.next().then(() => woken++);
  await Promise.resolve();
  assert.equal(woken, 2, "a notify before next() does not count");
  condition.notify();
  await c;
  assert.equal(woken, 3);
});

Deno.test("Condition: an aborted wait rejects with the reason and stops waiting", async () => {
  const condition = new Condition();
  const controller = new AbortController();
  const waiting = condition.until(() => false, controller.signal);
  assert.equal(condition.waiting, 1);
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  assert.equal(condition.waiting, 0);
  await assert.rejects(condition.until(() => true, controller.signal), (e) => e === reason);
});

Deno.test("Condition: untilWithin() resolves true when the predicate holds in time", async () => {
  const condition = new Condition();
  let value = 0;
  assert.equal(await condition.untilWithin(() => true, 0), true, "holds now: no wait at all");
  const waiting = condition.untilWithin(() => value === 1, 10_000);
  assert.equal(condition.waiting, 1);
  value = 1;
  condition.notify();
  assert.equal(await waiting, true);
  assert.equal(condition.waiting, 0);
});

Deno.test("Condition: untilWithin() resolves false when time runs out, and stops waiting", async () => {
  const condition = new Condition();
  assert.equal(await condition.untilWithin(() => false, 0), false);
  assert.equal(await condition.untilWithin(() => false, 5), false);
  assert.equal(condition.waiting, 0, "the expired waiter was removed");
  condition.notify(); // nobody left to wake
});
