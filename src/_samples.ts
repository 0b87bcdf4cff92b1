/**
 * A bounded window of timing samples and their percentiles, for
 * `Pool.stats()`.
 *
 * @module
 */

/**
 * Percentiles of a timing, in milliseconds (0 when nothing was measured).
 *
 * @example
 * ```ts
 * import { Pool, type Percentiles } from "@multipool/multipool";
 * await using pool = new Pool({ size: 1 });
 * await pool.apply((x: number) => x, [1]);
 * const run: Percentiles = pool.stats().runTime;
 * console.log(run.p50 <= run.max); // true
 * ```
 */
export interface Percentiles {
  /** Median. */
  readonly p50: number;
  /** 90th percentile. */
  readonly p90: number;
  /** 99th percentile. */
  readonly p99: number;
  /** Largest sample. */
  readonly max: number;
}

/** Keeps the last `capacity` samples. */
export class Samples {
  readonly #values: Float64Array;
  #count = 0;

  constructor(capacity = 1024) {
    this.#values = new Float64Array(capacity);
  }

  /** Records one sample. */
  add(value: number): void {
    this.#values[this.#count++ % this.#values.length] = value;
  }

  /** Percentiles of the kept samples. */
  percentiles(): Percentiles {
    const n = Math.min(this.#count, this.#values.length);
    if (n === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
    const sorted = this.#values.slice(0, n).sort();
    const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))];
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[n - 1] };
  }
}
