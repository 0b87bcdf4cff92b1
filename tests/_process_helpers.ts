/**
 * Helpers of the process backend tests (Linux `/proc`): which processes
 * are this host's children, how much CPU a process has used, whether a
 * pid still runs.
 *
 * @module
 */

import { until } from "./_fault_helpers.ts";

interface Stat {
  readonly state: string;
  readonly ppid: number;
  /** utime + stime, in clock ticks. */
  readonly ticks: number;
}

/** `/proc/<pid>/stat`, or `undefined` when there is no such process. */
function stat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return {
    state: fields[0],
    ppid: Number(fields[1]),
    ticks: Number(fields[11]) + Number(fields[12]),
  };
}

/** Whether `pid` runs (a zombie waiting to be reaped has ended). */
export function isRunning(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== "Z" && s.state !== "X";
}

/** Waits until none of `pids` runs; fails after `ms`. */
export async function allGone(pids: number[], ms = 5000): Promise<void> {
  await until(() => pids.every((pid) => !isRunning(pid)), `pids ${pids} to end`, ms);
}

/** The pids of this host's running children. */
export function childPids(): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (s !== undefined && s.ppid === Deno.pid && s.state !== "Z") pids.push(pid);
  }
  return pids;
}

/** CPU time (ms) this host's children use during the next `ms` milliseconds. */
export async function childrenCpuMs(ms: number): Promise<number> {
  const pids = childPids();
  const before = pids.map((pid) => stat(pid)?.ticks ?? 0);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = pids.map((pid) => stat(pid)?.ticks ?? before[pids.indexOf(pid)]);
  const ticks = after.reduce((sum, t, i) => sum + Math.max(0, t - before[i]), 0);
  return ticks * 10; // USER_HZ is 100 on Linux
}
