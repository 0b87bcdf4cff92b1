// Group({ limit: 0 }): gevent's Pool(0), a group that is always full.
// Whatever cannot ever end fails at once instead of hanging.

import assert from "node:assert/strict";
import { Group } from "../src/group.ts";
import type { Job } from "../src/job.ts";
import { PoolClosedError } from "../src/errors.ts";

Deno.test("Group with limit 0 is always full (gevent's Pool(0)) and never hangs silently", async (t) => {
  await t.step("freeCount is 0, full is true, waitAvailable(timeout) resolves 0", async () => {
    await using group = new Group({ limit: 0 });
    assert.equal(group.limit, 0);
    assert.equal(group.freeCount, 0);
    assert.equal(group.full, true);
    assert.equal(await group.waitAvailable(5), 0);
    assert.equal(await group.waitAvailable(0), 0);
  });

  await t.step("waitAvailable() without a timeout rejects: it could never end", async () => {
    await using group = new Group({ limit: 0 });
    await assert.rejects(group.waitAvailable(), (e) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /limit 0/);
      assert.match(e.message, /^[A-Z]/);
      assert.doesNotMatch(e.message, /\.$/);
      return true;
    });
  });

  await t.step("a spawned job stays queued until it is killed", async () => {
    await using group = new Group({ limit: 0 });
    let ran = false;
    const job = group.spawn(() => {
      ran = true;
    });
    assert.equal(group.size, 1);
    assert.equal(job.ready(), false);
    assert.equal(await group.join(5), false);
    assert.equal(await job.join(0), false);
    job.kill();
    assert.equal(ran, false);
    assert.equal(group.size, 0);
    assert.equal(await group.join(), true);
  });

  await t.step("close() cancels queued jobs and reports them: disposal does not hang", async () => {
    let job: Job<number> | undefined;
    const dispose = async () => {
      await using group = new Group({ limit: 0 });
      job = group.spawn(() => 1);
    };
    await assert.rejects(
      dispose(),
      (e) => e instanceof PoolClosedError && /limit 0/.test(e.message),
    );
    assert.ok(job?.error instanceof PoolClosedError);
    await using empty = new Group({ limit: 0 });
    empty.close();
    assert.equal(await empty.join(), true, "nothing queued: nothing to report");
  });

  await t.step("map, imap and imapUnordered fail at once instead of waiting forever", async () => {
    await using group = new Group({ limit: 0 });
    await assert.rejects(
      group.map((x: number) => x, [1]),
      (e) => e instanceof RangeError && /limit 0/.test(e.message) && /map/.test(e.message),
    );
    assert.throws(() => group.imap((x: number) => x, [1]), RangeError);
    assert.throws(() => group.imapUnordered((x: number) => x, [1]), RangeError);
  });
});
