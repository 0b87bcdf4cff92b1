/**
 * The worker of the poolifier-web-worker side of `peers_compare.ts`: a
 * `ThreadWorker` with the two task functions of `_peer_tasks.ts`, called by
 * name (`pool.execute(data, "inc")`). poolifier types a task's data as
 * optional, hence the defaults.
 *
 * @module
 */

import { ThreadWorker } from "npm:poolifier-web-worker@0.5.15";
import { inc, spin } from "./_peer_tasks.ts";

new ThreadWorker<number, number>({
  inc: (x = 0) => inc(x),
  spin: (ms = 0) => spin(ms),
});
