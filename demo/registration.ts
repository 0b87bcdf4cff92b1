/**
 * The seed's batch registration: one `Process` per user, then one `Pool`
 * for the whole batch.
 *
 * @module
 */

import { Pool, Process, taskModule } from "../mod.ts";
import { formatMs, now, type PartOptions } from "./output.ts";
import type { User } from "./tasks.ts";

const tasks = taskModule<typeof import("./tasks.ts")>(new URL("./tasks.ts", import.meta.url));

/** What {@linkcode registration} measured. */
export interface RegistrationResult {
  /** Users in the batch. */
  users: number;
  /** Exit codes of the processes, one per user. */
  exitCodes: (number | null)[];
  /** Users the pool registered, in input order. */
  registered: string[];
  /** Wall time of the Process-per-user approach (ms). */
  processMs: number;
  /** Wall time of the Pool approach, including starting the pool (ms). */
  poolMs: number;
}

/** Registers a batch of users with a Process each, then with one Pool, and prints both timings. */
export async function registration(options: PartOptions = {}): Promise<RegistrationResult> {
  const print = options.print ?? console.log;
  const names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];
  const users: User[] = (options.quick ? names : [...names, ...names.map((n) => `${n}2`)])
    .map((name) => ({ name, password: `${name}-secret` }));
  const writeMs = 20;
  print(
    `${users.length} users; each registration hashes a password, then writes for ${writeMs} ms`,
  );

  let start = now();
  const processes = users.map((user) =>
    new Process({ target: tasks.register, args: [user, writeMs], name: `register-${user.name}` })
  );
  for (const p of processes) p.start();
  for (const p of processes) await p.join();
  const processMs = now() - start;
  const exitCodes = processes.map((p) => p.exitCode);
  const ok = exitCodes.filter((code) => code === 0).length;
  print(
    `Process per user: ${formatMs(processMs)} (${processes.length} workers, ${ok} exit code 0)`,
  );

  start = now();
  await using pool = new Pool();
  const results = await pool.starmap(tasks.register, users.map((user) => [user, writeMs]));
  const poolMs = now() - start;
  print(`Pool(${pool.size}).starmap: ${formatMs(poolMs)} (${pool.size} workers, reused)`);
  print(`  ${results.slice(0, 3).map((r) => `${r.name} -> ${r.hash}`).join(", ")}, ...`);
  const ratio = processMs / poolMs;
  const verdict = ratio >= 1 ? `${ratio.toFixed(1)}x faster` : `${(1 / ratio).toFixed(1)}x slower`;
  print(
    `The pool was ${verdict}: each Process starts a worker of its own, the pool reuses its few`,
  );
  return {
    users: users.length,
    exitCodes,
    registered: results.map((r) => r.name),
    processMs,
    poolMs,
  };
}
