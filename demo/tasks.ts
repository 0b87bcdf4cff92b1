/**
 * The demo's task module: these functions run inside pool workers and
 * processes, referred to with `taskModule<typeof import("./tasks.ts")>(url)`.
 *
 * @module
 */

/** A registration request. */
export interface User {
  /** Login name. */
  name: string;
  /** Plain-text password, stretched into a hash by {@linkcode register}. */
  password: string;
}

/** What {@linkcode register} stored. */
export interface Registered {
  /** Login name. */
  name: string;
  /** Stretched password hash, hex. */
  hash: string;
}

/**
 * Registers a user the slow way: stretches the password (CPU work), then
 * waits `writeMs` for the "database write" (IO).
 */
export async function register(user: User, writeMs: number): Promise<Registered> {
  const hash = stretch(`${user.name}:${user.password}`, 3_000_000);
  await new Promise((resolve) => setTimeout(resolve, writeMs));
  return { name: user.name, hash: hash.toString(16).padStart(8, "0") };
}

/** FNV-1a over `text`, then `rounds` more mixing rounds: a stand-in for a password hash. */
function stretch(text: string, rounds: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  for (let i = 0; i < rounds; i++) h = Math.imul(h ^ (h >>> 15) ^ i, 0x01000193);
  return h >>> 0;
}

/** What {@linkcode nap} saw: the methods table is derived from these reports. */
export interface NapReport {
  /** Label of the job. */
  label: string;
  /** How many arguments the task received in this call. */
  argc: number;
  /** When the task started and finished (ms since the epoch, fractional). */
  start: number;
  /** See `start`. */
  end: number;
}

/**
 * Sleeps `ms`, then reports when it ran and how many arguments it got.
 * Called as `nap(label, ms)` or, by `map`, with one `[label, ms]` pair.
 */
export async function nap(...args: unknown[]): Promise<NapReport> {
  const start = performance.timeOrigin + performance.now();
  const [label, ms] = (args.length === 1 ? args[0] : args) as [string, number];
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { label, argc: args.length, start, end: performance.timeOrigin + performance.now() };
}

/** Sum of the decimal digits of `n` (a non-negative integer). */
export function digitSum(n: number): number {
  let sum = 0;
  for (let x = n; x > 0; x = Math.floor(x / 10)) sum += x % 10;
  return sum;
}
