/**
 * `deno task bench:peers`: multipool against its peers on Deno, all with 2
 * workers, on the same machine in the same run:
 *
 * - **poolifier-web-worker** 0.5.15 (`npm:`), the Deno Web Worker pool: a
 *   `FixedThreadPool` of `ThreadWorker`s (`_poolifier_worker.ts`) with its
 *   default options (no tasks queue: every task is posted to a worker at
 *   once, its fastest mode).
 * - **a raw Worker round robin**: two bare Web Workers
 *   (`_raw_round_robin_worker.ts`), one `postMessage` per task each way, the
 *   tasks dealt to them in turn; no pool, no protocol. The floor a pool
 *   sending one message per task cannot beat.
 *
 * multipool runs the tasks of `_peer_tasks.ts` as a task module
 * (`taskModule`); the other two call the same functions. Measured:
 *
 * 1. **tiny-task throughput**: `--tasks` (20,000) concurrent calls of
 *    `inc(i)` (`pool.apply(tasks.inc, [i])`, `pool.execute(i, "inc")`, a
 *    posted number), all submitted at once and then awaited, in tasks/s.
 *    Targets (issue 13): multipool at least 2x poolifier and at least 1x
 *    the raw round robin (stretch 2x).
 * 2. **CPU per task** during those runs: process CPU (`Deno.cpuUsage`,
 *    which counts every thread of the process, the workers' included) over
 *    the number of tasks, in µs.
 * 3. **round-trip latency**: p50 and p99 of `--calls` (3,000) sequential
 *    single calls per side (await one, then the next), the sides taking
 *    turns in blocks of `--block` (250) calls.
 * 4. **efficiency** on `--busy` (2,000) tasks of `--busy-ms` (1 ms) busy
 *    work each (a loop on `performance.now()`), all submitted at once: the
 *    ideal wall time (tasks x ms / `--size` workers) over the measured one.
 *
 * Throughput and efficiency run in rounds whose order rotates (A B C, B C A,
 * C A B, ...) so the machine's noise falls on every side alike; the figures
 * are medians over rounds and the ratios are multipool's median over the
 * peer's (the table says, per metric, which side of 1 is better).
 * The table and `bench/results/peers.svg` are written at the end. Rerun
 * with `deno task bench:peers`, or e.g.
 * `deno run -A bench/peers_compare.ts --rounds 9 --calls 5000`.
 *
 * @module
 */

import process from "node:process";
import { FixedThreadPool, PoolEvents } from "npm:poolifier-web-worker@0.5.15";
import { Pool, taskModule } from "../mod.ts";
import { barChartSvg } from "./_bar_chart.ts";
import { fmt, median, numberFlags, percentile, printTable, verdict } from "./_pool_workloads.ts";
import { reportRows } from "./_report.ts";

const tasks = taskModule<typeof import("./_peer_tasks.ts")>(
  new URL("./_peer_tasks.ts", import.meta.url),
);

/** Tiny-task throughput: multipool at least this many times poolifier's. */
const POOLIFIER_TARGET = 2;
/** Tiny-task throughput: multipool at least this many times the raw round robin's. */
const RAW_TARGET = 1;
/** The stretch target against the raw round robin. */
const RAW_STRETCH = 2;

/** One side of the comparison: the same two calls on each, and a way to stop. */
interface Side {
  /** The name in the table. */
  readonly name: string;
  /** Runs `inc(x)` on a worker. */
  inc(x: number): Promise<number>;
  /** Runs `spin(ms)` on a worker. */
  spin(ms: number): Promise<number>;
  /** Stops the workers. */
  close(): Promise<void>;
}

/** Two (or `size`) bare Web Workers, tasks dealt in turn, answers matched in FIFO order. */
class RawRoundRobin implements Side {
  readonly name = "raw Worker round robin";
  readonly #workers: Worker[] = [];
  readonly #waiting: ((value: number) => void)[][] = [];
  readonly #heads: number[] = [];
  #next = 0;

  constructor(size: number) {
    for (let w = 0; w < size; w++) {
      const worker = new Worker(new URL("./_raw_round_robin_worker.ts", import.meta.url), {
        type: "module",
        name: `raw-round-robin-${w}`,
      });
      const waiting: ((value: number) => void)[] = [];
      this.#waiting.push(waiting);
      this.#heads.push(0);
      worker.onmessage = (event: MessageEvent<number>) => {
        const resolve = waiting[this.#heads[w]];
        if (++this.#heads[w] === waiting.length) {
          waiting.length = 0;
          this.#heads[w] = 0;
        }
        resolve(event.data);
      };
      this.#workers.push(worker);
    }
  }

  #post(message: number | { spin: number }): Promise<number> {
    const w = this.#next;
    this.#next = (w + 1) % this.#workers.length;
    return new Promise((resolve) => {
      this.#waiting[w].push(resolve);
      this.#workers[w].postMessage(message);
    });
  }

  inc(x: number): Promise<number> {
    return this.#post(x);
  }

  spin(ms: number): Promise<number> {
    return this.#post({ spin: ms });
  }

  close(): Promise<void> {
    for (const worker of this.#workers) worker.terminate();
    return Promise.resolve();
  }
}

/** multipool's `Pool` (thread backend), tasks from the task module. */
function multipoolSide(size: number): Side {
  const pool = new Pool({ size });
  return {
    name: "multipool",
    inc: (x) => pool.apply(tasks.inc, [x]),
    spin: (ms) => pool.apply(tasks.spin, [ms]),
    close: () => pool.terminate(),
  };
}

/** poolifier-web-worker's `FixedThreadPool`, default options, once its workers are ready. */
async function poolifierSide(size: number): Promise<Side> {
  const pool = new FixedThreadPool<number, number>(
    size,
    new URL("./_poolifier_worker.ts", import.meta.url),
    { errorEventHandler: (event) => console.error("poolifier worker error", event) },
  );
  if (!pool.info.ready) {
    await new Promise((resolve) => {
      pool.eventTarget?.addEventListener(PoolEvents.ready, resolve, { once: true });
    });
  }
  return {
    name: "poolifier-web-worker",
    inc: (x) => pool.execute(x, "inc"),
    spin: (ms) => pool.execute(ms, "spin"),
    close: () => pool.destroy(),
  };
}

/** `Deno.cpuUsage`, where this Deno has it (its types do not declare it). */
const denoCpuUsage = (Deno as { cpuUsage?: () => { user: number; system: number } }).cpuUsage;

/**
 * Process CPU time so far, user + system, in µs: `getrusage` of the whole
 * process, so every thread counts, the workers' included (the busy runs
 * check it: their CPU is at least the workers' busy time).
 */
function cpuMicros(): number {
  const usage = denoCpuUsage?.() ?? process.cpuUsage();
  return usage.user + usage.system;
}

/** The 1-minute load average (Linux), or "n/a": a busy machine explains low efficiency. */
function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
  } catch {
    return "n/a";
  }
}

/** What one run of many concurrent calls took. */
interface RunFigures {
  /** Wall time, ms. */
  ms: number;
  /** Process CPU time, µs. */
  cpuUs: number;
}

/** Submits `n` calls of `call(i)` at once, awaits them all and checks each answer. */
async function concurrentRun(
  n: number,
  call: (i: number) => Promise<number>,
  expected: (i: number) => number,
): Promise<RunFigures> {
  const cpu = cpuMicros();
  const start = performance.now();
  const calls = new Array<Promise<number>>(n);
  for (let i = 0; i < n; i++) calls[i] = call(i);
  const out = await Promise.all(calls);
  const ms = performance.now() - start;
  const cpuUs = cpuMicros() - cpu;
  for (let i = 0; i < n; i++) {
    if (out[i] !== expected(i)) throw new Error(`Wrong answer ${out[i]} for call ${i}`);
  }
  return { ms, cpuUs };
}

/** `sides` in the order of round `round`: each side first in turn. */
function rotated<T>(sides: readonly T[], round: number): T[] {
  const shift = round % sides.length;
  return [...sides.slice(shift), ...sides.slice(0, shift)];
}

/** Runs `measure` on every side for `rounds` rounds in rotating order; figures per side, per round. */
async function inRounds(
  sides: readonly Side[],
  rounds: number,
  measure: (side: Side) => Promise<RunFigures>,
): Promise<RunFigures[][]> {
  const figures = sides.map((): RunFigures[] => []);
  for (let round = 0; round < rounds; round++) {
    for (const side of rotated(sides, round)) {
      figures[sides.indexOf(side)][round] = await measure(side);
    }
  }
  return figures;
}

/**
 * Sequential round trips of `inc`, µs per side: `calls` per side, in blocks
 * of `block` calls, the sides taking turns block by block in rotating order.
 * Not call by call: how fast a round trip is depends on whether the thread
 * it wakes ran a moment ago, so one side's calls between another's would
 * change what is measured.
 */
async function latencies(
  sides: readonly Side[],
  calls: number,
  block: number,
): Promise<number[][]> {
  const times = sides.map((): number[] => []);
  for (let round = 0; round * block < calls; round++) {
    for (const side of rotated(sides, round)) {
      const out = times[sides.indexOf(side)];
      for (let i = 0; i < block && out.length < calls; i++) {
        const start = performance.now();
        await side.inc(i);
        out.push((performance.now() - start) * 1e3);
      }
    }
  }
  return times;
}

const flags = numberFlags(Deno.args, {
  size: 2,
  tasks: 20_000,
  rounds: 7,
  calls: 3000,
  block: 250,
  warmup: 2000,
  busy: 2000,
  busyMs: 1,
  busyRounds: 7,
});
const started = performance.now();
console.log(
  `Pool size ${flags.size} on every side; ${navigator.hardwareConcurrency} CPUs; ` +
    `Deno ${Deno.version.deno}; load average ${loadAverage()}`,
);

const sides: Side[] = [
  multipoolSide(flags.size),
  await poolifierSide(flags.size),
  new RawRoundRobin(flags.size),
];
const names = sides.map((side) => side.name);
let tiny: RunFigures[][];
let latency: number[][];
let busy: RunFigures[][];
try {
  // Warm-up: workers started, task modules loaded, both ends JIT-compiled.
  for (const side of sides) {
    await concurrentRun(flags.tasks, (i) => side.inc(i), (i) => i + 1);
    for (let i = 0; i < flags.warmup; i++) await side.inc(i);
    await concurrentRun(20, () => side.spin(flags.busyMs), () => flags.busyMs);
  }
  console.log(`1-2. ${flags.tasks} concurrent tiny tasks, ${flags.rounds} rounds ...`);
  tiny = await inRounds(
    sides,
    flags.rounds,
    (side) => concurrentRun(flags.tasks, (i) => side.inc(i), (i) => i + 1),
  );
  console.log(
    `3. ${flags.calls} sequential round trips per side, in turns of ${flags.block} ...`,
  );
  latency = await latencies(sides, flags.calls, flags.block);
  console.log(
    `4. ${flags.busy} tasks of ${flags.busyMs} ms busy work, ${flags.busyRounds} rounds ...`,
  );
  busy = await inRounds(
    sides,
    flags.busyRounds,
    (side) => concurrentRun(flags.busy, () => side.spin(flags.busyMs), () => flags.busyMs),
  );
} finally {
  for (const side of sides) await side.close();
}

const tasksPerSecond = tiny.map((runs) => runs.map((run) => flags.tasks / (run.ms / 1000)));
const cpuPerTask = tiny.map((runs) => runs.map((run) => run.cpuUs / flags.tasks));
const idealMs = (flags.busy * flags.busyMs) / flags.size;
const efficiency = busy.map((runs) => runs.map((run) => (100 * idealMs) / run.ms));
const busyCpuShare = busy.map((runs) =>
  median(runs.map((run) => run.cpuUs / 1000 / (flags.busy * flags.busyMs)))
);
const p50 = latency.map((times) => percentile(times, 50));
const p99 = latency.map((times) => percentile(times, 99));

const throughput = tasksPerSecond.map(median);
const cpu = cpuPerTask.map(median);
const eff = efficiency.map(median);
/** One line of the table: a figure per side (multipool first), and which way is better. */
interface Metric {
  /** What is measured, with its unit. */
  label: string;
  /** The figure of each side, in the order of `sides`. */
  figures: number[];
  /** Decimals shown. */
  digits: number;
  /** Whether a higher figure is better. */
  higher: boolean;
  /** The target per peer (by side index), with its verdict, where there is one. */
  targets?: Record<number, { text: string; pass: boolean }>;
}

const vsPoolifier = throughput[0] / throughput[1];
const vsRaw = throughput[0] / throughput[2];
const metrics: Metric[] = [
  {
    label: "tiny-task throughput, k tasks/s",
    figures: throughput.map((v) => v / 1000),
    digits: 1,
    higher: true,
    targets: {
      1: { text: `>= ${POOLIFIER_TARGET}x`, pass: vsPoolifier >= POOLIFIER_TARGET },
      2: {
        text: `>= ${RAW_TARGET}x (stretch ${RAW_STRETCH}x: ${verdict(vsRaw >= RAW_STRETCH)})`,
        pass: vsRaw >= RAW_TARGET,
      },
    },
  },
  { label: "CPU per tiny task, µs", figures: cpu, digits: 1, higher: false },
  { label: "round trip p50, µs", figures: p50, digits: 1, higher: false },
  { label: "round trip p99, µs", figures: p99, digits: 1, higher: false },
  {
    label: `efficiency, ${flags.busy} x ${flags.busyMs} ms busy tasks, %`,
    figures: eff,
    digits: 1,
    higher: true,
  },
];
const peers = [1, 2];
const rows = metrics.flatMap((metric) =>
  peers.map((s) => {
    const target = metric.targets?.[s];
    return [
      `${metric.label} (vs ${names[s]})`,
      fmt(metric.figures[0], metric.digits),
      fmt(metric.figures[s], metric.digits),
      fmt(metric.figures[0] / metric.figures[s], 2, "x"),
      metric.higher ? "> 1" : "< 1",
      target === undefined ? "" : `${target.text} ${verdict(target.pass)}`,
    ];
  })
);
console.log(
  `\nPool(${flags.size}) each; medians over rounds; ratio = multipool / peer:\n`,
);
printTable(["metric", "multipool", "peer", "ratio", "multipool better if", "target"], rows);
console.log(
  `\nper round, tasks/s: ${
    names.map((name, s) => `${name} ${tasksPerSecond[s].map((v) => fmt(v / 1000, 1)).join(" ")}k`)
      .join("; ")
  }`,
);
console.log(
  `per round, efficiency %: ${
    names.map((name, s) => `${name} ${efficiency[s].map((v) => fmt(v, 1)).join(" ")}`).join("; ")
  }`,
);
console.log(
  `process CPU during the busy runs over the worker busy time (${flags.busy * flags.busyMs} ms): ${
    names.map((name, s) => `${name} ${fmt(busyCpuShare[s], 2)}`).join(", ")
  } (>= 1.00: the CPU figures count the worker threads)`,
);

const svg = barChartSvg({
  title:
    `multipool vs poolifier-web-worker vs a raw Worker round robin, ${flags.size} workers each`,
  subtitle: `${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}; ` +
    `medians of rotating rounds; deno task bench:peers`,
  sides: names,
  colors: ["#2b6cb0", "#dd6b20", "#718096"],
  panels: [
    {
      title: `${flags.tasks / 1000}k tiny tasks at once: tasks/s`,
      note: "higher is better",
      series: [""],
      values: throughput.map((v) => [v]),
      format: (v) => `${(v / 1000).toFixed(1)}k`,
    },
    {
      title: "CPU per tiny task, µs",
      note: "lower is better",
      series: [""],
      values: cpu.map((v) => [v]),
      format: (v) => v.toFixed(1),
    },
    {
      title: "sequential round trip, µs",
      note: "lower is better",
      series: ["p50", "p99"],
      values: p50.map((v, s) => [v, p99[s]]),
      format: (v) => v.toFixed(0),
    },
    {
      title: `${flags.busy} x ${flags.busyMs} ms busy tasks: efficiency %`,
      note: "higher is better (ideal 100)",
      series: [""],
      values: eff.map((v) => [v]),
      max: 100,
      format: (v) => v.toFixed(1),
    },
  ],
});
const svgUrl = new URL("./results/peers.svg", import.meta.url);
await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
await Deno.writeTextFile(svgUrl, svg);
console.log(
  `\nchart: ${svgUrl.pathname}; whole run ${fmt((performance.now() - started) / 1000, 1)} s; ` +
    `load average now ${loadAverage()}`,
);

reportRows(metrics.flatMap((metric) =>
  peers.map((s) => {
    const target = metric.targets?.[s];
    const ratio = metric.figures[0] / metric.figures[s];
    return {
      workload: `Pool(${flags.size}): ${metric.label}`,
      ours: fmt(metric.figures[0], metric.digits),
      against: s === 1 ? "poolifier-web-worker 0.5.15" : names[s],
      theirs: fmt(metric.figures[s], metric.digits),
      ratio: metric.higher ? ratio : 1 / ratio,
      ...(target === undefined ? {} : { target: target.text, pass: target.pass }),
    };
  })
));
