import assert from "node:assert/strict";
import { cluster } from "../demo/cluster.ts";
import { natsTest } from "./_nats_helpers.ts";

natsTest("demo cluster: two NATS workers share the bands; each reports its chunks", async () => {
  const lines: string[] = [];
  const result = await cluster({ quick: true, print: (line) => lines.push(line) });
  assert.equal(result.skipped, false);
  if (result.skipped) return;
  assert.equal(result.primes, 78_498); // primes below 1e6
  const counts = Object.values(result.perWorker);
  assert.equal(counts.length, 2);
  assert.equal(counts[0] + counts[1], result.bands, lines.join("\n"));
  assert.ok(counts.every((n) => n > 0), `each worker ran some: ${counts}`);
  assert.ok(result.progressLines >= 2, lines.join("\n"));
  assert.ok(lines.some((line) => /^worker-a ran \d+ chunks$/.test(line)), lines.join("\n"));
});
