// Issue 6: every submitted task settles and the pool keeps its size, whatever
// a worker does. One test per fault (steps for its variants). Each fault must
// reject the affected task with an exported error type within SETTLE_MS,
// leave a task running on another worker (the "bystander") untouched, and
// leave the pool at full size serving the next task on every worker; after
// terminate() no worker is alive. The whole suite runs on each local backend
// (issue 12, point 1).

import assert from "node:assert/strict";
import {
  kernels,
  liveWorkerCount,
  Pool,
  PoolClosedError,
  QueueFullError,
  RemoteError,
  taskModule,
  TaskTimeoutError,
  wasmModule,
  WorkerCrashedError,
} from "../mod.ts";
import {
  delay,
  deno,
  fault,
  faulty,
  FAULTY_SCRIPT,
  rejectsWithin,
  testCounter,
  until,
  withFaults,
} from "./_fault_helpers.ts";
import { BACKENDS, rejectsAtCall } from "./_helpers.ts";

for (const backend of BACKENDS) {
  Deno.test(`[${backend}] 1: a task that throws rejects with RemoteError and keeps its worker`, async (t) => {
    await withFaults({ backend, size: 2 }, async (pool) => {
      await t.step("sync throw: the cause keeps name, message and the worker's stack", async () => {
        const error = await fault(
          pool,
          () => pool.apply(faulty.throwSync, ["bad sync"]),
          RemoteError,
          /^RangeError: bad sync$/,
        );
        assert.equal(error.cause.name, "RangeError");
        assert.equal(error.cause.message, "bad sync");
        assert.match(error.cause.stack ?? "", /faulty_tasks\.ts/);
      });
      await t.step("async rejection", async () => {
        const error = await fault(
          pool,
          () => pool.apply(faulty.throwAsync, ["bad async"]),
          RemoteError,
          /^TypeError: bad async$/,
        );
        assert.equal(error.cause.name, "TypeError");
      });
      await t.step("inline task, and thrown values that are not errors", async () => {
        await fault(pool, () => pool.apply(() => JSON.parse("{"), []), RemoteError, /SyntaxError/);
        await fault(
          pool,
          () =>
            pool.apply(() => {
              throw 42;
            }, []),
          RemoteError,
          /42/,
        );
        await fault(
          pool,
          () =>
            pool.apply(() => {
              throw { code: "E_OBJ" };
            }, []),
          RemoteError,
          /E_OBJ/,
        );
        await fault(pool, () => pool.apply(() => Promise.reject(null), []), RemoteError, /null/);
      });
      await t.step("a thrown error that itself throws when read still settles", async () => {
        await fault(
          pool,
          () =>
            pool.apply(() => {
              const error = new Error("hostile");
              Object.defineProperty(error, "name", {
                get() {
                  throw new Error("name getter");
                },
              });
              throw error;
            }, []),
          WorkerCrashedError,
          /name getter/,
        );
      });
      await t.step("map with one failing item rejects fast", async () => {
        await fault(
          pool,
          () =>
            pool.map(
              (x: number) => {
                if (x === 13) throw new Error(`item ${x}`);
                return x;
              },
              Array.from({ length: 40 }, (_, i) => i),
              { chunksize: 1 },
            ),
          RemoteError,
          /item 13/,
        );
      });
    });
  });

  Deno.test(`[${backend}] 1: a task error costs no worker`, async () => {
    await withFaults({ backend, size: 2 }, async (pool) => {
      await assert.rejects(pool.apply(faulty.throwSync, ["x"]), RemoteError);
      await assert.rejects(pool.apply(faulty.throwAsync, ["x"]), RemoteError);
      assert.equal(pool.stats().replaced, 0);
    });
  });

  Deno.test(`[${backend}] 1: a task that replaces self.onmessage or self.postMessage does not cut its worker off`, async () => {
    await withFaults({ backend, size: 1 }, async (pool) => {
      const tamper = (name: string) => {
        (globalThis as Record<string, unknown>)[name] = () => {};
        return name;
      };
      assert.equal(await pool.apply(tamper, ["onmessage"]), "onmessage");
      assert.equal(await pool.apply(tamper, ["postMessage"]), "postMessage");
      assert.deepEqual(await pool.map((x: number) => x + 1, [1, 2, 3]), [2, 3, 4]);
      assert.equal(pool.stats().replaced, 0);
    });
  });

  Deno.test(`[${backend}] 2: an uncaught error or unhandled rejection in the worker fails only its task`, async (t) => {
    await withFaults({ backend, size: 2 }, async (pool) => {
      await t.step("error thrown in a timer", async () => {
        const error = await fault(
          pool,
          () => pool.apply(faulty.throwInTimer, ["timer boom"]),
          WorkerCrashedError,
          /uncaught error: EvalError: timer boom/,
        );
        assert.equal((error.cause as Error).name, "EvalError");
      });
      await t.step("unhandled promise rejection", async () => {
        await fault(
          pool,
          () => pool.apply(faulty.rejectUnhandled, ["nobody catches"]),
          WorkerCrashedError,
          /uncaught error: URIError: nobody catches/,
        );
      });
      await t.step("inline, in a map: the map rejects, the pool heals", async () => {
        await fault(
          pool,
          () =>
            pool.map(
              (x: number) => {
                if (x === 7) setTimeout(() => Promise.reject(new Error("late reject")));
                return new Promise((resolve) => setTimeout(() => resolve(x), 5));
              },
              Array.from({ length: 20 }, (_, i) => i),
              { chunksize: 1 },
            ),
          WorkerCrashedError,
          /late reject/,
        );
      });
      await t.step(
        "a crash after the task returned: the task succeeds, the worker is replaced",
        async () => {
          const replaced = pool.stats().replaced;
          const value = await pool.apply(() => {
            setTimeout(() => {
              throw new Error("after the fact");
            }, 20);
            return "done";
          }, []);
          assert.equal(value, "done");
          await until(() => pool.stats().replaced === replaced + 1, "the worker to be replaced");
        },
      );
    });
    await t.step("neither exits the host process (a separate deno run, no listeners)", async () => {
      const { code, stdout, stderr } = await deno(["run", "-A", FAULTY_SCRIPT, "faults", backend]);
      assert.equal(code, 0, stderr);
      assert.equal(
        stdout,
        [..."1234"].map(() => "WorkerCrashedError\n").join("") + "square 49\nlive 0\n",
      );
    });
  });

  Deno.test(`[${backend}] 3: a worker that ends itself (self.close(), Deno.exit()) is detected`, async (t) => {
    await withFaults({ backend, size: 2 }, async (pool) => {
      await t.step("self.close() from a module task", async () => {
        await fault(
          pool,
          () => pool.apply(faulty.closeSelf, []),
          WorkerCrashedError,
          /called close\(\)/,
        );
      });
      await t.step("self.close() from an inline task that then returns a value", async () => {
        await fault(
          pool,
          () =>
            pool.apply(() => {
              (globalThis as unknown as { close(): void }).close();
              return 1;
            }, []),
          WorkerCrashedError,
          /called close\(\)/,
        );
      });
      await t.step("Deno.exit(code)", async () => {
        await fault(
          pool,
          () => pool.apply(faulty.exitSelf, [7]),
          WorkerCrashedError,
          /Deno\.exit\(7\)/,
        );
      });
      await t.step("process.exit() from node:process", async () => {
        await fault(
          pool,
          async () =>
            await pool.apply(async () => {
              const { default: process } = await import("node:process");
              process.exit(9);
            }, []),
          WorkerCrashedError,
          /exit\(9\)/,
        );
      });
    });
  });

  Deno.test(`[${backend}] 4: a task that never returns times out from when it starts`, async (t) => {
    await t.step("per-call timeout stops a busy loop and replaces its worker", async () => {
      await withFaults({ backend, size: 2 }, async (pool) => {
        const error = await fault(
          pool,
          () => pool.apply(faulty.spin, [2500], { timeout: 300 }),
          TaskTimeoutError,
          /spin from .*faulty_tasks\.ts did not finish within 300 ms and was stopped/,
        );
        assert.equal(error.name, "TaskTimeoutError");
        assert.equal(pool.stats().replaced, 1);
      });
    });
    await t.step("pool-wide taskTimeout; the per-call timeout wins over it", async () => {
      // Far above what the bystander (300 ms) and the health check need, even
      // with the busy loop of the step before still spinning on a core.
      await withFaults({ backend, size: 2, taskTimeout: 1200 }, async (pool) => {
        await fault(
          pool,
          () => pool.apply(faulty.chaos, ["hang", 0]),
          TaskTimeoutError,
          /within 1200 ms/,
        );
        await fault(
          pool,
          () => pool.apply(faulty.chaos, ["hang", 0], { timeout: 250 }),
          TaskTimeoutError,
          /within 250 ms/,
        );
        assert.equal(await pool.apply(faulty.sleep, [1500, "longer"], { timeout: 5000 }), "longer");
      });
    });
    await t.step("a task queued behind a long one does not time out while it waits", async () => {
      await withFaults({ backend, size: 1, taskTimeout: 1500 }, async (pool) => {
        const started = performance.now();
        const results = await Promise.all([
          pool.apply(faulty.sleep, [800, "first"]),
          pool.apply(faulty.sleep, [800, "second"]),
          pool.apply(faulty.sleep, [800, "third"]),
        ]);
        assert.deepEqual(results, ["first", "second", "third"]);
        assert.ok(performance.now() - started >= 2400, "the three ran one after another");
        assert.equal(pool.stats().failed, 0);
      });
    });
  });

  Deno.test(`[${backend}] 5: AbortSignal removes a queued task and stops a running one`, async (t) => {
    await t.step(
      "a queued task is removed: it rejects with the reason and never runs",
      async () => {
        await withFaults({ backend, size: 1 }, async (pool) => {
          const counter = testCounter(backend);
          const running = pool.apply(faulty.sleep, [400, "running"]);
          await until(() => pool.stats().busy === 1, "the first task to start");
          const controller = new AbortController();
          const queued = pool.apply(faulty.bump, [counter.arg], { signal: controller.signal });
          assert.equal(pool.stats().queued, 1);
          const reason = new Error("changed my mind");
          controller.abort(reason);
          const error = await rejectsWithin(queued, Error, /changed my mind/, 1000);
          assert.equal(error, reason);
          assert.equal(pool.stats().queued, 0);
          assert.equal(await running, "running");
          assert.equal(await pool.apply(faulty.square, [5]), 25);
          assert.equal(counter.value(), 0, "the aborted task ran");
          assert.equal(pool.stats().replaced, 0);
        });
      },
    );
    await t.step("a running task: its worker is terminated and replaced", async () => {
      await withFaults({ backend, size: 2 }, async (pool) => {
        const controller = new AbortController();
        await fault(
          pool,
          () => {
            const running = pool.apply(faulty.chaos, ["hang", 0], { signal: controller.signal });
            // Aborted once it runs (nothing left queued), however long the workers take to start.
            until(() => pool.stats().queued === 0 && pool.stats().busy >= 1, "the task to start")
              .then(() => controller.abort(new RangeError("stop now")));
            return running;
          },
          RangeError,
          /stop now/,
        );
        assert.equal(pool.stats().replaced, 1);
      });
    });
    await t.step("AbortSignal.timeout() on a busy loop", async () => {
      await withFaults({ backend, size: 2 }, async (pool) => {
        const error = await fault(
          pool,
          () => pool.apply(faulty.spin, [2500], { signal: AbortSignal.timeout(300) }),
          DOMException,
          /timeout|timed out/i,
        );
        assert.equal(error.name, "TimeoutError");
      });
    });
  });

  /**
   * A hand-written module without imports: `boom()` traps on `unreachable`,
   * `load(p)` reads the i32 at `p` of its one 64 KiB page, `inc(x)` is `x + 1`.
   */
  const TRAPS_WASM = new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version
    ...[0x01, 0x0a, 0x02, 0x60, 0x00, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7f], // types () => i32, (i32) => i32
    ...[0x03, 0x04, 0x03, 0x00, 0x01, 0x01], // functions
    ...[0x05, 0x03, 0x01, 0x00, 0x01], // memory: 1 page
    ...[0x07, 0x1e, 0x04], // exports
    ...[0x04, 0x62, 0x6f, 0x6f, 0x6d, 0x00, 0x00], // "boom"
    ...[0x04, 0x6c, 0x6f, 0x61, 0x64, 0x00, 0x01], // "load"
    ...[0x03, 0x69, 0x6e, 0x63, 0x00, 0x02], // "inc"
    ...[0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00], // "memory"
    ...[0x0a, 0x15, 0x03], // code
    ...[0x03, 0x00, 0x00, 0x0b], // boom: unreachable
    ...[0x07, 0x00, 0x20, 0x00, 0x28, 0x02, 0x00, 0x0b], // load: local.get 0; i32.load
    ...[0x07, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x0b], // inc: local.get 0; i32.const 1; i32.add
  ]);

  Deno.test(`[${backend}] 6: a WASM trap fails its task with RemoteError; the instance stays usable`, async (t) => {
    const traps = await wasmModule<
      { boom(): number; load(p: number): number; inc(x: number): number }
    >(
      TRAPS_WASM,
    );
    await withFaults({ backend, size: 2 }, async (pool) => {
      await t.step("unreachable", async () => {
        const error = await fault(
          pool,
          () => pool.apply(traps.boom, []),
          RemoteError,
          /RuntimeError: WASM export 'boom' trapped: unreachable/,
        );
        assert.equal(error.cause.name, "RuntimeError");
      });
      await t.step(
        "out-of-bounds memory access, past the end and at a negative address",
        async () => {
          for (const address of [65536, 1 << 30, -1]) {
            await fault(
              pool,
              () => pool.apply(traps.load, [address]),
              RemoteError,
              /RuntimeError: WASM export .load. trapped: memory access out of bounds/,
            );
          }
          assert.equal(await pool.apply(traps.load, [65532]), 0);
        },
      );
      await t.step("a built-in kernel trapping on bad input", async () => {
        await fault(
          pool,
          () => pool.apply(kernels.dot, [new Float64Array(3), new Float64Array(4)]),
          RemoteError,
          /RuntimeError/,
        );
      });
      await t.step("no worker was replaced and each instantiated each module once", async () => {
        assert.deepEqual(await pool.map(traps.inc, [1, 2, 3]), [2, 3, 4]);
        const stats = pool.stats();
        assert.equal(stats.replaced, 0);
        assert.ok(stats.wasmInstantiations <= 2 * pool.size, `${stats.wasmInstantiations}`);
      });
    });
  });

  Deno.test(`[${backend}] 7: values that cannot be cloned`, async (t) => {
    await withFaults({ backend, size: 2 }, async (pool) => {
      await t.step("an argument: the call rejects with a TypeError, nothing sent", async () => {
        const before = pool.stats();
        await rejectsAtCall(
          () => pool.apply(faulty.square, [(() => 1) as unknown as number]),
          { name: "TypeError", message: /args\[0\] is a function/ },
        );
        await rejectsAtCall(
          () => pool.apply(faulty.square, [{ secret: new WeakMap() } as unknown as number]),
          { name: "TypeError", message: /args\[0\] cannot be sent to a worker: .*WeakMap/ },
        );
        const after = pool.stats();
        assert.equal(after.queued, 0);
        assert.equal(after.busy, 0);
        assert.equal(after.failed, before.failed);
      });
      await t.step(
        "an item of map over an array: the call rejects with a TypeError naming it",
        async () => {
          await rejectsAtCall(
            () => pool.map(faulty.square, [1, 2, Symbol("x") as unknown as number]),
            { name: "TypeError", message: /iterable\[2\] is a symbol/ },
          );
        },
      );
      await t.step(
        "an item from a generator: the map rejects with a TypeError naming it",
        async () => {
          function* items() {
            yield 1;
            yield new WeakMap() as unknown as number;
          }
          await rejectsWithin(pool.map(faulty.square, items()), TypeError, /iterable\[1\]/);
        },
      );
      await t.step("a result: RemoteError saying what could not be cloned", async () => {
        const error = await fault(
          pool,
          () => pool.apply(faulty.unclonableResult, []),
          RemoteError,
          /TypeError: Result 0 of the chunk could not be sent to the main thread: .*could not be cloned/,
        );
        assert.match(error.message, /=>\s*1/, "names the function that could not be cloned");
        assert.equal(pool.stats().replaced, 0);
      });
    });
  });

  Deno.test(`[${backend}] 8: a task module that cannot be loaded names the module and the task`, async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "multipool_modules_" });
    const write = async (name: string, text: string) => {
      const path = `${dir}/${name}`;
      await Deno.writeTextFile(path, text);
      return taskModule<{ task(): number; constant(): number }>(new URL(`file://${path}`));
    };
    const syntax = await write("syntax.ts", "export function task( { return 1 }\n");
    const throwing = await write("throwing.ts", 'throw new Error("top level");\n');
    const badImport = await write("bad_import.ts", 'import "./nowhere.ts";\nexport const x = 1;\n');
    const fine = await write("fine.ts", "export const constant = 1;\nexport function task() {}\n");
    const missing = taskModule<{ task(): number }>(new URL(`file://${dir}/missing.ts`));
    try {
      await withFaults({ backend, size: 2 }, async (pool) => {
        const name = (module: string) =>
          new RegExp(`Cannot load task module file://${dir}/${module} \\(for task 'task'\\)`);
        await t.step("missing module", async () => {
          const error = await fault(
            pool,
            () => pool.apply(missing.task, []),
            RemoteError,
            name("missing.ts"),
          );
          assert.match(error.message, /Module not found/);
        });
        await t.step("syntax error", async () => {
          const error = await fault(
            pool,
            () => pool.apply(syntax.task, []),
            RemoteError,
            name("syntax.ts"),
          );
          assert.match(error.message, /syntax\.ts:1:/);
        });
        await t.step("throws while it loads", async () => {
          await fault(pool, () => pool.apply(throwing.task, []), RemoteError, name("throwing.ts"));
        });
        await t.step("imports a module that is missing", async () => {
          const error = await fault(
            pool,
            () => pool.apply(badImport.task, []),
            RemoteError,
            name("bad_import.ts"),
          );
          assert.match(error.message, /nowhere\.ts/);
          assert.ok(!error.message.includes("\x1b"), "no terminal colour codes");
        });
        await t.step("no such export, or an export that is not a function", async () => {
          const other = taskModule<{ nope(): number }>(new URL(`file://${dir}/fine.ts`));
          await fault(
            pool,
            () => pool.apply(other.nope, []),
            RemoteError,
            new RegExp(
              `Task module file://${dir}/fine.ts has no exported function 'nope' \\(no such export\\)`,
            ),
          );
          await fault(
            pool,
            () => pool.apply(fine.constant, []),
            RemoteError,
            /has no exported function 'constant' \(it is number\)/,
          );
        });
        assert.equal(pool.stats().replaced, 0);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`[${backend}] 9: a throwing initializer fails the tasks and backs off`, async (t) => {
    await t.step("tasks fail with the initializer's error; respawns slow down", async () => {
      const starts = testCounter(backend);
      await withFaults(
        {
          backend,
          size: 2,
          initializer: faulty.failingInit,
          initArgs: [starts.arg, "init refused"],
        },
        async (pool) => {
          const error = await rejectsWithin(
            pool.apply(faulty.square, [3]),
            RemoteError,
            /^Pool initializer failed: SyntaxError: init refused$/,
          );
          assert.equal(error.cause.name, "SyntaxError");
          // Without backoff two workers would restart every ~20-50 ms: 40+ starts a second.
          const before = starts.value();
          let peak = 0;
          const sampler = setInterval(() => (peak = Math.max(peak, liveWorkerCount())), 5);
          await delay(1500);
          clearInterval(sampler);
          const during = starts.value() - before;
          assert.ok(during <= 8, `${during} worker starts in 1.5 s`);
          assert.ok(peak <= pool.size, `${peak} live workers`);
          // Work submitted later still settles, with the same error.
          await rejectsWithin(pool.apply(faulty.square, [4]), RemoteError, /init refused/, 5000);
        },
        false,
      );
      await delay(200);
      const after = starts.value();
      await delay(500);
      assert.equal(starts.value(), after, "a worker started after terminate()");
    });
    await t.step("close() + join() finish although no worker ever starts", async () => {
      const starts = testCounter(backend);
      assert.equal(liveWorkerCount(), 0);
      const pool = new Pool({
        backend,
        size: 2,
        initializer: faulty.failingInit,
        initArgs: [starts.arg, "no"],
      });
      const task = pool.apply(faulty.square, [2]);
      pool.close();
      await rejectsWithin(task, RemoteError, /initializer failed/);
      await pool.join();
      assert.equal(liveWorkerCount(), 0);
    });
    await t.step("an initializer that never finishes is bounded by taskTimeout", async () => {
      assert.equal(liveWorkerCount(), 0);
      const pool = new Pool({
        backend,
        size: 1,
        initializer: () => new Promise(() => {}),
        taskTimeout: 200,
      });
      try {
        await rejectsWithin(
          pool.apply(faulty.square, [2]),
          TaskTimeoutError,
          /initializer did not finish within 200 ms/,
        );
      } finally {
        await pool.terminate();
      }
      assert.equal(liveWorkerCount(), 0);
    });
    await t.step("an initializer that fails only at first: the pool recovers", async () => {
      const starts = testCounter(backend);
      await withFaults(
        { backend, size: 2, initializer: faulty.flakyInit, initArgs: [starts.arg, 3] },
        async (pool) => {
          const deadline = performance.now() + 8000;
          for (;;) {
            try {
              assert.equal(await pool.apply(faulty.square, [6]), 36);
              break;
            } catch (error) {
              assert.ok(error instanceof RemoteError, String(error));
              assert.match(error.message, /flaky initializer failed/);
              assert.ok(performance.now() < deadline, "the pool did not recover");
              await delay(50);
            }
          }
          assert.ok(starts.value() >= 4);
        },
      );
    });
  });

  Deno.test(`[${backend}] 10: maxTasksPerWorker recycles workers; maxQueue bounds the backlog`, async (t) => {
    await t.step("maxTasksPerWorker: 2", async () => {
      await withFaults({ backend, size: 2, maxTasksPerWorker: 2 }, async (pool) => {
        let peak = 0;
        const sampler = setInterval(() => (peak = Math.max(peak, liveWorkerCount())), 2);
        const xs = Array.from({ length: 40 }, (_, i) => i);
        try {
          assert.deepEqual(
            await pool.map(faulty.square, xs, { chunksize: 1 }),
            xs.map((x) => x * x),
          );
          const names = [];
          for (let i = 0; i < 8; i++) names.push(await pool.apply(faulty.workerName, []));
          assert.ok(new Set(names).size >= 4, `names: ${names}`);
        } finally {
          clearInterval(sampler);
        }
        assert.ok(pool.stats().replaced >= 20, `replaced ${pool.stats().replaced}`);
        assert.ok(peak <= pool.size, `${peak} live workers`);
      });
    });
    await t.step("maxQueue: 2 rejects the third waiting task with QueueFullError", async () => {
      await withFaults({ backend, size: 1, maxQueue: 2 }, async (pool) => {
        const running = pool.apply(faulty.sleep, [300, 0]);
        await until(() => pool.stats().busy === 1, "the first task to start");
        const queued = [pool.apply(faulty.sleep, [10, 1]), pool.apply(faulty.sleep, [10, 2])];
        await rejectsAtCall(() => pool.apply(faulty.square, [3]), QueueFullError);
        await assert.rejects(pool.map(faulty.square, [3]), QueueFullError);
        assert.deepEqual(await Promise.all([running, ...queued]), [0, 1, 2]);
        assert.equal(await pool.apply(faulty.square, [3]), 9);
      });
    });
  });

  Deno.test(`[${backend}] 11: terminate() rejects running and queued work at once; close() + join() completes it`, async (t) => {
    await t.step("terminate()", async () => {
      assert.equal(liveWorkerCount(), 0);
      const pool = new Pool({ backend, size: 2 });
      const running = [pool.apply(faulty.chaos, ["hang", 0]), pool.apply(faulty.spin, [1500])];
      await until(() => pool.stats().busy === 2, "both workers to be busy");
      const queued = Array.from({ length: 5 }, (_, i) => pool.apply(faulty.square, [i]));
      const start = performance.now();
      const settled = Promise.allSettled([...running, ...queued]).then((results) => {
        assert.ok(performance.now() - start < 200, "settled at once");
        return results;
      });
      // Resolves once the workers are gone (a killed subprocess has exited: a spinning one too).
      await pool.terminate();
      assert.equal(liveWorkerCount(), 0);
      const results = await settled;
      for (const result of results) {
        assert.equal(result.status, "rejected");
        assert.ok(result.reason instanceof PoolClosedError, String(result.reason));
      }
      await rejectsAtCall(() => pool.apply(faulty.square, [1]), PoolClosedError);
      await pool.join();
    });
    await t.step("close() + join()", async () => {
      assert.equal(liveWorkerCount(), 0);
      const pool = new Pool({ backend, size: 2 });
      const running = [pool.apply(faulty.sleep, [300, "a"]), pool.apply(faulty.sleep, [300, "b"])];
      const queued = Array.from({ length: 5 }, (_, i) => pool.apply(faulty.square, [i]));
      pool.close();
      await rejectsAtCall(() => pool.apply(faulty.square, [1]), PoolClosedError);
      await pool.join();
      assert.equal(liveWorkerCount(), 0);
      assert.deepEqual(await Promise.all(running), ["a", "b"]);
      assert.deepEqual(await Promise.all(queued), [0, 1, 4, 9, 16]);
    });
    await t.step(
      "close() + join() with a crash in the backlog: it is replaced to finish the rest",
      async () => {
        assert.equal(liveWorkerCount(), 0);
        const pool = new Pool({ backend, size: 1 });
        const settled = Promise.allSettled([
          pool.apply(faulty.closeSelf, []),
          pool.apply(faulty.square, [3]),
          pool.apply(faulty.throwInTimer, ["x"]),
          pool.apply(faulty.square, [4]),
        ]);
        pool.close();
        await pool.join();
        assert.equal(liveWorkerCount(), 0);
        const [crash, three, timer, four] = await settled;
        assert.ok(crash.status === "rejected" && crash.reason instanceof WorkerCrashedError);
        assert.deepEqual(three, { status: "fulfilled", value: 9 });
        assert.ok(timer.status === "rejected" && timer.reason instanceof WorkerCrashedError);
        assert.match(timer.reason.message, /EvalError: x/);
        assert.deepEqual(four, { status: "fulfilled", value: 16 });
      },
    );
  });
}
