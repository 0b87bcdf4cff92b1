// Tasks (issue 2 point 3, issue 11 point 5): typed taskModule() references,
// loading errors, inline functions and the parser-based closure check, which
// rejects closures at the call (naming every outer variable) but must never
// reject a self-contained function.

import assert from "node:assert/strict";
import { RemoteError, type Task, type TaskModule, taskModule, type TaskRef } from "../mod.ts";
import { freeNames } from "../src/_free_names.ts";
import { toTaskSpec } from "../src/task.ts";
import { rejectsAtCall, sharedCounter, tasks, withPool } from "./_helpers.ts";

const fixtureUrl = new URL("./fixtures/tasks.ts", import.meta.url);

/** Compile-time checks only: `deno check` fails if an expectation below is wrong. */
function typeChecks(pool: {
  apply<A extends unknown[], R>(task: Task<A, R>, args: A): Promise<R>;
}): void {
  const square: TaskRef<[x: number], number> = tasks.square;
  const add: TaskRef<[a: number, b: number], number> = tasks.add;
  // Async exports are typed by what they resolve to.
  const sleepMs: TaskRef<[ms: number], number> = tasks.sleepMs;
  const fromApply: Promise<number> = pool.apply(tasks.square, [2]);
  void [square, add, sleepMs, fromApply];

  // @ts-expect-error a string is not a number
  pool.apply(tasks.square, ["2"]);
  // @ts-expect-error add takes two arguments
  pool.apply(tasks.add, [1]);
  // @ts-expect-error square resolves with a number, not a string
  const wrong: Promise<string> = pool.apply(tasks.square, [2]);
  // @ts-expect-error CONSTANT is not a function, so it is not a task
  void tasks.CONSTANT;
  // @ts-expect-error no such export
  void tasks.nope;
  // @ts-expect-error TaskModule only offers functions
  const label: TaskModule<{ label: string }>["label"] = undefined;
  void [wrong, label];
}
void typeChecks;

Deno.test("taskModule() gives references by export name", async (t) => {
  await t.step("a reference names the module and the export", () => {
    assert.deepEqual(tasks.square.spec, { kind: "module", url: fixtureUrl.href, name: "square" });
    assert.equal(tasks.square, tasks.square, "one reference per export");
    assert.ok(Object.isFrozen(tasks.square) && Object.isFrozen(tasks.square.spec));
    const fromString = taskModule<{ f(): void }>("https://example.com/tasks.ts");
    assert.equal(
      fromString.f.spec.kind === "module" && fromString.f.spec.url,
      "https://example.com/tasks.ts",
    );
  });

  await t.step("the module object is not a thenable and has no symbol keys", async () => {
    const m = taskModule<Record<string, () => void>>(fixtureUrl);
    assert.equal((m as unknown as { then?: unknown }).then, undefined);
    assert.equal(await Promise.resolve(m), m); // awaiting it does not hang
    assert.equal((m as unknown as Record<symbol, unknown>)[Symbol.iterator], undefined);
  });

  await t.step("a URL that is not absolute is a TypeError naming url", () => {
    for (const url of ["./tasks.ts", "tasks.ts", 42, null]) {
      assert.throws(() => taskModule(url as string), (e: unknown) => {
        assert.ok(e instanceof TypeError);
        assert.match(e.message, /url/);
        return true;
      });
    }
  });

  await t.step("references run in a worker with their arguments", async () => {
    await withPool({ size: 1 }, async (pool) => {
      assert.equal(await pool.apply(tasks.square, [12]), 144);
      assert.equal(await pool.apply(tasks.add, [12, 30]), 42);
      assert.equal(await pool.apply(tasks.sleepEcho, [1, "echo"]), "echo");
    });
  });
});

Deno.test("a missing module or export fails the task with an error naming it", async () => {
  await withPool({ size: 1 }, async (pool) => {
    const missingUrl = new URL("./fixtures/does_not_exist.ts", import.meta.url);
    const missing = taskModule<{ run(): void }>(missingUrl);
    const e1 = await pool.apply(missing.run, []).catch((e) => e);
    assert.ok(e1 instanceof RemoteError, String(e1));
    assert.match(e1.message, /does_not_exist\.ts/);

    const e2 = await pool.apply(
      (tasks as unknown as Record<string, TaskRef<[], unknown>>).nope,
      [],
    ).catch((e) => e);
    assert.ok(e2 instanceof RemoteError, String(e2));
    assert.match(e2.message, /'nope'/);
    assert.match(e2.message, /fixtures\/tasks\.ts/);
    assert.match(e2.message, /no such export/);

    const e3 = await pool.apply(
      (tasks as unknown as Record<string, TaskRef<[], unknown>>).CONSTANT,
      [],
    ).catch((e) => e);
    assert.ok(e3 instanceof RemoteError, String(e3));
    assert.match(e3.message, /'CONSTANT'/);
    assert.match(e3.message, /number/);

    assert.equal(await pool.apply(tasks.square, [3]), 9, "the worker is still fine");
  });
});

Deno.test("an inline function that uses its surrounding scope is refused (the call rejects)", async () => {
  await withPool({ size: 1 }, async (pool) => {
    const counter = sharedCounter();
    const factor = 3;
    const offset = 1;
    const before = pool.stats().completed;

    await rejectsAtCall(() => pool.apply((x: number) => x * factor, [2]), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /'factor'/);
      assert.match(e.message, /pass it as an argument or use taskModule\(\)/);
      return true;
    });
    await rejectsAtCall(
      () => pool.map((x: number) => x * factor + offset, [1, 2]),
      (e: unknown) => {
        assert.ok(e instanceof TypeError);
        assert.match(e.message, /'factor', 'offset'/);
        assert.match(e.message, /pass them as an argument/);
        return true;
      },
    );
    function scaled(x: number) {
      Atomics.add(counter, 0, 1);
      return x * factor;
    }
    await rejectsAtCall(
      () => pool.applyAsync(scaled, [1]),
      /Inline task scaled uses 'counter', 'factor'/,
    );
    assert.throws(() => pool.imap((x: number) => `${x}${factor}`, [1]), /'factor'/);
    await rejectsAtCall(() => pool.starmap((a: number) => ({ factor, a }), [[1]]), /'factor'/);
    assert.equal(pool.stats().completed, before);
    assert.equal(counter[0], 0);

    // Passed as an argument instead, it works.
    assert.equal(await pool.apply((x: number, f: number) => x * f, [2, factor]), 6);
  });
});

Deno.test("native and bound functions are rejected at the call", () => {
  for (const fn of [Math.max, ((x: number) => x).bind(null), parseInt]) {
    assert.throws(() => toTaskSpec(fn), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /native or bound/);
      return true;
    });
  }
  for (const value of [42, "square", null, undefined, {}, { spec: null }]) {
    assert.throws(() => toTaskSpec(value), /Argument task/);
  }
});

Deno.test("a global that only the main thread has is explained by the worker", async () => {
  const host = globalThis as { multipoolHostOnly?: number };
  host.multipoolHostOnly = 5;
  try {
    await withPool({ size: 1 }, async (pool) => {
      // The check accepts globals of the main thread: the worker lacks this one.
      // @ts-expect-error: a global set on the main thread only
      const task = (x: number) => x + multipoolHostOnly;
      const error = await pool.apply(task, [1]).catch((e) => e);
      assert.ok(error instanceof RemoteError, String(error));
      assert.equal(error.cause.name, "ReferenceError");
      assert.match(error.cause.message, /'multipoolHostOnly'/);
      assert.match(error.cause.message, /pass it as an argument or use taskModule\(\)/);
    });
  } finally {
    delete host.multipoolHostOnly;
  }
});

/** The names a closure-check error lists, or the error itself when it is not one. */
function rejectedNames(fn: unknown): string[] {
  try {
    toTaskSpec(fn);
  } catch (error) {
    assert.ok(error instanceof TypeError, String(error));
    const listed = /^Inline task \S+ uses (.+) from its surrounding scope: pass/.exec(
      error.message,
    );
    assert.ok(listed, error.message);
    return listed[1].split(", ").map((name) => name.slice(1, -1));
  }
  throw new Error(`Accepted: ${String(fn)}`);
}

Deno.test("a closure is rejected naming every outer variable it uses", async (t) => {
  const factor = 3;
  const offset = 1;
  let count = 0;
  const helper = (x: number) => x + 1;
  class Base {}
  const key = "k";
  const list = [1];
  class Holder {
    scale = 2;
    task() {
      return (x: number) => x * this.scale;
    }
  }
  function outerArguments(..._args: unknown[]) {
    return () => arguments.length;
  }
  const closures: [string, AnyFn, string[]][] = [
    ["a default value", (x: number, y = factor) => x + y, ["factor"]],
    ["names in a nested arrow, in order of use", (x) => () => Number(x) * factor + offset, [
      "factor",
      "offset",
    ]],
    ["a call of an outer function", (x) => helper(Number(x)), ["helper"]],
    ["an assignment", (x) => (count += Number(x)), ["count"]],
    ["a class extending an outer class", () => new (class extends Base {})(), ["Base"]],
    ["a computed key and a shorthand property", (x) => ({ [key]: x, list }), ["key", "list"]],
    ["a template substitution", (x) => `${x}${factor}`, ["factor"]],
    ["a typeof guard does not hide a direct use", (x) => {
      return typeof helper === "function" ? helper(Number(x)) : x;
    }, ["helper"]],
    ["this of the enclosing method", new Holder().task(), ["this"]],
    ["arguments of the enclosing function", outerArguments(1), ["arguments"]],
    ["a name declared only in a sibling block", (x) => {
      {
        const factor = 1;
        void factor;
      }
      return Number(x) * factor;
    }, ["factor"]],
    ["a destructuring default and an assignment target", (o) => {
      let local = 0;
      ({ a: local = offset } = o as { a?: number });
      [count] = [local];
      return local;
    }, ["offset", "count"]],
  ];
  for (const [what, fn, names] of closures) {
    await t.step(what, () => assert.deepEqual(rejectedNames(fn), names, String(fn)));
  }
  void count;
});

Deno.test("a source that does not parse is a TypeError at the call", () => {
  class Secret {
    #twice(x: number) {
      return 2 * x;
    }
    static twice() {
      return new Secret().#twice;
    }
  }
  const privateMethod = Secret.twice();
  assert.match(String(privateMethod), /^#twice\(x\)/, "a private method's source");
  assert.throws(() => toTaskSpec(privateMethod), (e: unknown) => {
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /^Inline task #twice cannot be parsed as a function \(Unexpected/);
    assert.match(e.message, /at line 1, column 1\)/);
    assert.match(e.message, /use taskModule\(\)$/);
    assert.ok(e.cause instanceof SyntaxError);
    return true;
  });
  // The position is the parser's, translated back into the source.
  assert.throws(() => freeNames("(x) => {\n  return x +;\n}"), (e: unknown) => {
    assert.ok(e instanceof SyntaxError);
    assert.equal(e.message, "Unexpected token at line 2, column 13");
    return true;
  });
  assert.throws(() => freeNames("(x) => {"), /Unexpected token at the end of the source/);
});

Deno.test("the analysis is cached by source text", () => {
  const fns = [1, 2].map(() => (x: number) => x + 1);
  assert.notEqual(fns[0], fns[1]);
  const specs = fns.map(toTaskSpec);
  assert.equal(specs[0], specs[1], "two arrows with one source share a spec");
  assert.deepEqual(specs[1], { kind: "source", source: String(fns[1]), name: "" });
});

// Self-contained functions with sources that trip naive scanners: each must
// be accepted and give in the worker what it gives here.
// deno-lint-ignore no-explicit-any
type AnyFn = (x: any) => unknown;
const selfContained: [string, AnyFn, unknown][] = [
  ["template literals with nested substitutions", (x) => `a${x}b${`c${Number(x) + 1}`}{}`, 2],
  ["an object literal inside a substitution", (x) => `{${{ a: x }.a}}`, 7],
  ["regex with quotes, slashes and a class", (s) => /["'`]\/[/]x{2}/.test(String(s)), `'/"/xx`],
  ["division, not a regex", (x) => (Number(x) / 2) / 2 + Number(`${x}`.length) / 1, 8],
  ["a regex after if (...)", (s) => {
    let hits = 0;
    if (s) /a+/.test(String(s)) && hits++;
    return hits;
  }, "baa"],
  ["a regex after for (...)", (xs) => {
    let n = 0;
    for (const x of xs as string[]) /^[a-z]$/.test(x) && n++;
    return n;
  }, ["a", "B", "c"]],
  ["destructured parameters with defaults and rest", ({ a, b: [c, d = 2], ...rest }: {
    a: number;
    b: number[];
    [k: string]: unknown;
  }) => a + c + d + Object.keys(rest).length, { a: 1, b: [10], e: 0, f: 0 }],
  [
    "defaults that use earlier parameters",
    (a: number, b = a * 2) => a + b,
    5,
  ],
  ["destructuring declarations", (x) => {
    const { a: { b }, c = 1 } = x as { a: { b: number }; c?: number };
    const [d, , e] = [1, 2, 3];
    let [f, g] = [4, 5];
    [f, g] = [g, f];
    return b + c + d + e + f - g;
  }, { a: { b: 10 } }],
  ["classes: fields, private, static, accessors, inheritance", (x) => {
    class Base {
      constructor(readonly v: number) {}
    }
    class P extends Base {
      static made = 0;
      #twice: number;
      count = 1;
      static {
        P.made = 100;
      }
      constructor(v: number) {
        super(v);
        this.#twice = v * 2;
      }
      get twice() {
        return this.#twice;
      }
      set twice(value: number) {
        this.#twice = value;
      }
      static make(v: number) {
        return new P(v);
      }
      *items() {
        yield this.v;
        yield this.#twice;
      }
      async later() {
        return await Promise.resolve(this.count);
      }
    }
    const p = P.make(Number(x));
    p.twice = p.twice + 1;
    return [p.v, p.twice, P.made, [...p.items()], p.count];
  }, 3],
  ["object methods, getters and computed keys", (x) =>
    ({
      m(y: number) {
        return y + 1;
      },
      get g() {
        return 2;
      },
      [`k${1}`]: 3,
      async n() {},
      *o() {},
    }).m(Number(x)), 4],
  [
    "nested arrows and closures over parameters",
    (x) => [1, 2].map((y) => ((z: number) => z + y)(Number(x))),
    10,
  ],
  ["arrows without parentheses", (xs) => (xs as number[]).map((y) => y * 2).filter((y) => y > 2), [
    1,
    2,
    3,
  ]],
  ["hoisted function declarations, generators and recursion", (x) => {
    function* gen(n: number): Generator<number> {
      if (n > 0) yield* gen(n - 1);
      yield n;
    }
    return helper(Number(x)) + [...gen(3)].join(",");
    function helper(y: number): number {
      return y <= 1 ? 1 : y * helper(y - 1);
    }
  }, 4],
  ["labels with break and continue", (n) => {
    let pairs = 0;
    outer: for (let i = 0; i < Number(n); i++) {
      for (let j = 0; j < Number(n); j++) {
        if (j > i) continue outer;
        pairs++;
      }
    }
    block: {
      if (pairs) break block;
      pairs = -1;
    }
    return pairs;
  }, 4],
  ["try/catch with and without a binding", (x) => {
    try {
      throw new Error(String(x));
    } catch (err) {
      try {
        JSON.parse("{");
      } catch {
        return (err as Error).message;
      }
    }
    return "";
  }, "caught"],
  ["comments and strings that mention outer names", (x) => {
    /* uses outerName */
    const s = "${outerName}" + "outerName" + x; // outerName
    return s;
  }, "!"],
  ["optional chaining, nullish and logical assignment", (o) => {
    const v = o as { a?: { b?: number }; c?: number };
    let r = v?.a?.b ?? v?.["c"] ?? 0;
    r ||= 1;
    r &&= r + 1;
    return r;
  }, { c: 5 }],
  ["switch with case labels and ternaries", (x) => {
    switch (x) {
      case 1:
        return x ? "one" : "zero";
      default:
        return typeof x === "number" ? { k: x } : null;
    }
  }, 2],
  ["async functions and promises", async (x) => {
    await null;
    return await new Promise((resolve) => setTimeout(() => resolve(x), 1));
  }, "done"],
  ["for-of, for-in and several declarators", (x) => {
    let total = 0;
    for (const [k, v] of Object.entries(x as Record<string, number>)) total += k.length * v;
    for (const key in x as object) total += key.length;
    for (let i = 0, n = 3; i < n; i++) total += i;
    return total;
  }, { ab: 2, c: 3 }],
  ["spread, rest, shorthand properties and tagged templates", (...xs) => {
    const tag = (parts: TemplateStringsArray, ...vals: unknown[]) => parts.join("|") + vals.length;
    const first = xs[0];
    return { first, n: Math.max(...[1, 2]), t: tag`a${first}b` };
  }, "f"],
  ["numbers, bigints, unicode names and globals of the worker", (ä) => {
    const big = 2n ** 10n;
    return [Number(ä) + 1e-1 + 0x10 + 1_000, String(big), typeof self];
  }, 1],
  ["a named function expression", function fact(n: unknown): unknown {
    return Number(n) <= 1 ? 1 : Number(n) * (fact(Number(n) - 1) as number);
  }, 5],
  ["arguments of a plain function", function (this: unknown, _x: unknown) {
    return arguments.length;
  }, 1],
  ["a using declaration", (x) => {
    using r = { [Symbol.dispose]() {} };
    void r;
    return x;
  }, 1],
  ["an await using declaration", async (x) => {
    await using r = { async [Symbol.asyncDispose]() {} };
    void r;
    return x;
  }, 2],
  ["a typeof guard on a global this runtime lacks", (x) => {
    // @ts-expect-error: Bun is not declared here, nor defined in Deno
    if (typeof Bun !== "undefined") return "bun";
    return typeof Deno === "object" ? `deno ${x}` : "other";
  }, 3],
  ["a global that may be missing, read through globalThis", () => {
    return (globalThis as { Bun?: { version: string } }).Bun?.version ?? "none";
  }, 0],
];

Deno.test("the check accepts self-contained functions, and they run", async (t) => {
  await withPool({ size: 1 }, async (pool) => {
    for (const [what, fn, input] of selfContained) {
      await t.step(what, async () => {
        const source = Function.prototype.toString.call(fn);
        assert.deepEqual(freeNames(source), [], source);
        assert.deepEqual(await pool.apply(fn, [input]), await fn(input));
      });
    }
    await t.step("worker globals that the main thread lacks are not free names", async () => {
      // @ts-expect-error: postMessage is a global of the worker, not of the main thread
      assert.equal(await pool.apply(() => typeof postMessage, []), "function");
      // Feature checks on worker-only names are accepted, and answered by the worker (a
      // node:worker_threads thread is not a WorkerGlobalScope: the answer is false there).
      const inWorker = await pool.apply(
        // @ts-expect-error: WorkerGlobalScope is a worker-only global
        () => typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope,
        [],
      );
      assert.equal(typeof inWorker, "boolean");
    });
    await t.step("a method shorthand is a task too", async () => {
      const holder = {
        triple(x: number) {
          return 3 * x;
        },
        async later(x: number) {
          return await Promise.resolve(x + 1);
        },
      };
      assert.equal(await pool.apply(holder.triple, [5]), 15);
      assert.equal(await pool.apply(holder.later, [5]), 6);
    });
  });
});

Deno.test("the check on raw JavaScript sources", async (t) => {
  await t.step("self-contained sources have no free names", () => {
    // Sources as a .js file keeps them (TypeScript output always has semicolons).
    const sources = [
      "function (x) { class P { a = 1\n b = this\n c = [2]\n d = f()\n m() { return x } } function f() {} return new P() }",
      "(x) => { label1: label2: for (;;) { break label1; } return x; }",
      "(s) => { while (s) /a/.exec(s); return 1; }",
      "(x) => { function *gen() { yield x; } return [...gen()]; }",
      "(x) => { async function* agen() { yield x; } return agen; }",
      "(s) => s.replace(/\\//g, '\\\\')",
      "(x) => { const re = /[/\\]]+/; return re; }",
      "(x) => { const s = '\\''; return s + x; }",
      "(x) => { const o = { 'a b': 1, 2: 3, async: 4, get: 5, set: 6, static: 7, of: 8 }; return o; }",
      "(x) => x\n/ 2",
      "(x) => { const r = x++ / 2; return r; }",
      "square(x) { return x * x; }",
      "async *pairs(x) { yield x; }",
      "x => x * 2",
      "async x => x * 2",
      "() => { using r = { [Symbol.dispose]() {} }; return 1; }",
      "async () => { await using r = null; return r; }",
      "(x) => typeof Bun === 'undefined' && typeof x",
      "function f() { return [this, arguments, f]; }",
      "class Foo { static make() { return new Foo(); } }",
      "(x) => { class A { f = this; static s = this; static { this.t = x; } } return A; }",
      "(x) => { switch (x) { case 1: const y = 2; return y; } }",
      "(x) => { try { return x; } catch ({ message, cause: [c] }) { return message + c; } }",
      "(x) => { for (let i = 0; i < x; i++) {} for (const k in x) {} for (var v of x) {} return v; }",
      "(x) => { if (x) { var hoisted = 1; } return hoisted; }",
      "(x) => { return later(); function later() { return x; } }",
      "(x) => /(?<year>\\d{4})/v.exec(x)?.groups?.year",
      "get size() { return 1; }",
      "set size(v) { this.v = v; }",
      "async name(x) { return await x; }",
      "*gen() { yield 1; }",
      "[Symbol.iterator]() { return []; }",
      "(x) => self.name + postMessage.length + importScripts + WorkerGlobalScope",
      "(x) => Math.max(x) + Deno.pid + console.log.length + globalThis.a + NaN + undefined",
    ];
    for (const source of sources) assert.deepEqual(freeNames(source), [], source);
  });

  await t.step("free names are found wherever they are used", () => {
    const cases: [string, string[]][] = [
      ["(x) => x * k", ["k"]],
      ["(x) => `a${`${k}`}b`", ["k"]],
      ["() => () => k", ["k"]],
      ["(x) => ({ m() { return k; } })", ["k"]],
      ["(x) => { class A { m() { return k; } } return A; }", ["k"]],
      ["(x) => { class A { f = k; } return A; }", ["k"]],
      ["(x) => { class A { f = 1\n g = k } return A; }", ["k"]],
      ["(x) => { class A extends Base {} return A; }", ["Base"]],
      ["(x) => ({ k })", ["k"]],
      ["(x) => ({ [k]: 1 })", ["k"]],
      ["(x) => [...k]", ["k"]],
      ["(x) => new K(x)", ["K"]],
      ["(x) => { if (x) /a/.test(k); }", ["k"]],
      ["(x) => { outer: for (;;) { continue outer; } return k; }", ["k"]],
      ["(x) => x ? k : 0", ["k"]],
      ["(x) => { switch (x) { case k: return 1; } }", ["k"]],
      ["(x) => { try {} catch (e) { return k; } }", ["k"]],
      ["(x) => { const y = a, z = b; return y + z; }", ["a", "b"]],
      ["(x) => x.y.z + w", ["w"]],
      ["(x) => /k/.test(x) + j", ["j"]],
      // The worker compiles a method as a member of an object literal, where it cannot see its name.
      ["fact(n) { return n <= 1 ? 1 : n * fact(n - 1); }", ["fact"]],
      ["[k]() { return 1; }", ["k"]],
      ["(a = b) => { var b; return a; }", ["b"]],
      ["(x) => typeof k === 'undefined' ? 0 : k", ["k"]],
      ["() => this", ["this"]],
      ["() => arguments[0]", ["arguments"]],
      ["(x) => { { const j = 1; } return j; }", ["j"]],
      ["(o) => { ({ a: o.b, c = e, ...f } = o); return o; }", ["c", "e", "f"]],
      ["(x) => { class A { [k] = 1; static { x = j; } } return A; }", ["k", "j"]],
      ["(x) => { for (const y of ys) x += y; return x; }", ["ys"]],
      ["(x) => { switch (k) { case 1: let k = 2; } }", ["k"]],
      ["(x) => { try {} catch ({ message = m }) { return message; } }", ["m"]],
      ["(x) => { k = 1; k++; delete k.y; }", ["k"]],
    ];
    for (const [source, expected] of cases) assert.deepEqual(freeNames(source), expected, source);
  });
});
