// Promise-returning methods never throw synchronously (the WHATWG / W3C TAG
// rule): bad input rejects the returned promise. Each call below gets bad
// input; the test fails if one throws at the call instead.

import assert from "node:assert/strict";
import { AsyncResult, Group, joinAll, Process, sleep, spawn, withTimeout } from "../mod.ts";

type Expected = typeof TypeError | typeof RangeError;

/** Calls `call`, which must return a promise (not throw) that rejects with `expected`. */
async function rejectsWithoutThrowing(name: string, call: () => unknown, expected: Expected) {
  let returned: unknown;
  try {
    returned = call();
  } catch (error) {
    assert.fail(`${name} threw at the call: ${error}`);
  }
  assert.ok(returned instanceof Promise, `${name} returned a promise`);
  await assert.rejects(returned, expected, name);
}

Deno.test("Promise-returning methods reject bad input instead of throwing", async () => {
  await using group = new Group();
  const job = spawn(() => 1);
  const result = new AsyncResult(Promise.resolve(1));
  const process = new Process({ target: () => {} });
  const calls: [string, () => unknown, Expected][] = [
    ["group.map", () => group.map("fn" as never, [1]), TypeError],
    ["group.map(source)", () => group.map((x: number) => x, 5 as never), TypeError],
    ["group.join", () => group.join(-1), RangeError],
    ["group.waitAvailable", () => group.waitAvailable("5" as never), TypeError],
    ["group.apply", () => group.apply("fn" as never, []), TypeError],
    ["job.get", () => job.get(-1), RangeError],
    ["job.join", () => job.join(NaN), RangeError],
    ["joinAll", () => joinAll(5 as never), TypeError],
    ["joinAll(options.timeout)", () => joinAll([job], { timeout: -1 }), RangeError],
    ["withTimeout", () => withTimeout(5 as never, 10), TypeError],
    ["withTimeout(ms)", () => withTimeout(() => 1, -1), RangeError],
    ["sleep", () => sleep(-1), RangeError],
    ["asyncResult.get", () => result.get(-1), RangeError],
    ["asyncResult.wait", () => result.wait("5" as never), TypeError],
    ["process.join", () => process.join(-1), RangeError],
  ];
  for (const [name, call, expected] of calls) await rejectsWithoutThrowing(name, call, expected);
  await job;
});
