/**
 * What a `Group`'s `join()` reports: the failures recorded since the last
 * report, each reported once, and the same report to every join that
 * waited for the same idle moment.
 *
 * @module
 */

import { Condition } from "./_condition.ts";

/**
 * One stretch of work until the group is next idle: the joins that wait
 * during it end together (when {@linkcode FailureReport.idle} drops it) and
 * report the same errors.
 */
interface Drain {
  report?: unknown[];
}

/** Failures of a group, kept until a `join()` reports them. */
export class FailureReport {
  #errors: unknown[] = [];
  /** The drain joins wait on now; `undefined` while nobody waits. */
  #drain: Drain | undefined;
  readonly #idle = new Condition();

  /** How many failures wait to be reported. */
  get count(): number {
    return this.#errors.length;
  }

  /** The first failure not reported yet (what new jobs are cancelled with). */
  get first(): unknown {
    return this.#errors[0];
  }

  /** Records a failure; returns whether it is the first one not reported yet. */
  add(error: unknown): boolean {
    return this.#errors.push(error) === 1;
  }

  /** The group is idle now: the joins waiting for it wake and share one report. */
  idle(): void {
    this.#drain = undefined;
    this.#idle.notify();
  }

  /**
   * `join()`: waits at most `ms` for the group to be idle (`idleNow`: it is
   * already), then throws the failures not reported yet (one error, or an
   * `AggregateError`); resolves `true` when there were none, `false` when
   * the time ran out.
   */
  async join(idleNow: boolean, ms: number): Promise<boolean> {
    if (idleNow) return this.#raise(this.#take());
    const drain: Drain = this.#drain ??= {};
    if (!(await this.#idle.untilWithin(() => this.#drain !== drain, ms))) return false;
    drain.report ??= this.#take();
    return this.#raise(drain.report);
  }

  #take(): unknown[] {
    const errors = this.#errors;
    this.#errors = [];
    return errors;
  }

  #raise(errors: unknown[]): true {
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      throw new AggregateError(errors, `Several jobs of the group failed (${errors.length})`);
    }
    return true;
  }
}
