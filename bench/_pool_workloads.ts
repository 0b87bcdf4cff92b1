/**
 * Shared pieces of the Pool benchmarks (`pool_bench.ts`, `python_compare.ts`,
 * `imap_memory.ts`): the trivial tasks, a raw Worker echo baseline,
 * percentiles, a Python runner and table printing.
 *
 * @module
 */

/** The trivial item task of every map benchmark (the same as Python's `def square(x): return x * x`). */
export const square = (x: number): number => x * x;
/** The task of the round-trip benchmarks. */
export const echo = (x: number): number => x;

/** A bare Worker that echoes every message: the floor any pool round trip is compared with. */
export class RawEcho {
  readonly #worker = new Worker(new URL("./_raw_echo_worker.ts", import.meta.url), {
    type: "module",
    name: "raw-echo",
  });
  #resolve: ((value: unknown) => void) | undefined;
  readonly #minimal: boolean;

  /**
   * `minimal`: post the bare number (the cheapest message there is) instead
   * of `{ id, args: [id] }`.
   */
  constructor(options: { minimal?: boolean } = {}) {
    this.#minimal = options.minimal ?? false;
    this.#worker.onmessage = (event) => {
      const resolve = this.#resolve;
      this.#resolve = undefined;
      resolve?.(event.data);
    };
  }

  /** Posts `{ id, args }` (or `id`) and resolves with the echo; one at a time, like `await pool.apply`. */
  roundTrip(id: number): Promise<unknown> {
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#worker.postMessage(this.#minimal ? id : { id, args: [id] });
    });
  }

  /** Stops the worker. */
  close(): void {
    this.#worker.terminate();
  }
}

/** The `p`-th percentile (0..100) of `values` (not modified). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const at = Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))));
  return sorted[at];
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Integer range `[0, n)` as an array. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** What a helper process printed (its last stdout line, parsed as JSON), or why it could not run. */
export type JsonResult<T> = { ok: true; value: T } | { ok: false; reason: string };
/** What a Python helper printed; see {@linkcode JsonResult}. */
export type PythonResult<T> = JsonResult<T>;

/** Runs `command` with `args` and parses the JSON line it prints last. */
export async function runJson<T>(command: string, args: string[]): Promise<JsonResult<T>> {
  const name = args.at(0) === undefined ? command : `${command} ${args[0]}`;
  try {
    const { success, stdout, stderr } = await new Deno.Command(command, {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout).trim();
    if (!success) {
      const err = new TextDecoder().decode(stderr).trim().split("\n").slice(-3).join(" | ");
      return { ok: false, reason: `${name} failed: ${err}` };
    }
    return { ok: true, value: JSON.parse(out.split("\n").at(-1)!) as T };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** Runs `bench/python/<script>` with `python3` (or `$PYTHON`) and parses the JSON it prints last. */
export function runPython<T>(script: string, args: string[]): Promise<PythonResult<T>> {
  const python = Deno.env.get("PYTHON") ?? "python3";
  const path = new URL(`./python/${script}`, import.meta.url).pathname;
  return runJson<T>(python, [path, ...args]);
}

/** Prints an aligned text table. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    "| " + cells.map((c, i) => (c ?? "").padEnd(widths[i])).join(" | ") + " |";
  console.log(line(headers));
  console.log("| " + widths.map((w) => "-".repeat(w)).join(" | ") + " |");
  for (const row of rows) console.log(line(row));
}

/** Reads `--name value` / `--name=value` flags as numbers, falling back to `defaults`. */
export function numberFlags<T extends Record<string, number>>(args: string[], defaults: T): T {
  const out: Record<string, number> = { ...defaults };
  for (let i = 0; i < args.length; i++) {
    const match = /^--([\w-]+)(?:=(.*))?$/.exec(args[i]);
    if (match === null) continue;
    const key = match[1].replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    if (!(key in defaults)) throw new RangeError(`Unknown flag --${match[1]}`);
    const raw = match[2] ?? args[++i];
    const value = Number(raw);
    if (raw === undefined || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`Flag --${match[1]} needs a number >= 0, got ${raw}`);
    }
    out[key] = value;
  }
  return out as T;
}

/** Formats a number with `digits` decimals and a unit suffix; `n/a` when it is not finite. */
export function fmt(value: number, digits = 1, suffix = ""): string {
  return Number.isFinite(value) ? value.toFixed(digits) + suffix : "n/a";
}

/** `PASS`/`MISS` for a target. */
export function verdict(ok: boolean): string {
  return ok ? "PASS" : "MISS";
}
