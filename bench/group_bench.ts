// deno bench: 100k jobs of `await sleep(0)` through Group({ limit: 1000 })
// against a plain Promise.all (the baseline). Target: the group at most 2x
// the baseline. gevent and HTTP figures come from `deno task bench:group`.

import { JOBS, LIMIT, viaGroupImap, viaGroupSpawn, viaPromiseAll } from "./group_workloads.ts";

const group = `${JOBS / 1000}k jobs of await sleep(0)`;
const options = { group, n: 5, warmup: 1 };

Deno.bench("Promise.all (no limit)", { ...options, baseline: true }, async () => {
  await viaPromiseAll();
});

Deno.bench(`Group({ limit: ${LIMIT} }).spawn + join`, options, async () => {
  await viaGroupSpawn();
});

Deno.bench(`Group({ limit: ${LIMIT} }).imapUnordered`, options, async () => {
  await viaGroupImap();
});
