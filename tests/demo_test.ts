import assert from "node:assert/strict";
import { liveWorkerCount } from "../mod.ts";
import { coroutines } from "../demo/coroutines.ts";
import { cpuSpeedup } from "../demo/cpu_speedup.ts";
import { imapProgress } from "../demo/imap_progress.ts";
import { ioCpu } from "../demo/io_cpu.ts";
import { main, PARTS } from "../demo/main.ts";
import { mandelbrot } from "../demo/mandelbrot.ts";
import { methodsTable } from "../demo/methods_table.ts";
import { registration } from "../demo/registration.ts";
import { crc32, encodePng } from "../demo/png.ts";

/** Runs a demo part's test with its printed lines, then asserts that no worker outlived it. */
function test(name: string, fn: (lines: string[], print: (line: string) => void) => Promise<void>) {
  Deno.test(name, async () => {
    const lines: string[] = [];
    await fn(lines, (line) => lines.push(line));
    assert.equal(liveWorkerCount(), 0, "a worker outlived the demo part");
  });
}

test("io: a Group feeds pool.imap; an abort stops both sides", async (lines, print) => {
  const result = await ioCpu({ quick: true, print });
  assert.equal(result.hashed, 40, "every document fetched and hashed");
  assert.ok(result.peakRequests >= 2 && result.peakRequests <= 16, `peak ${result.peakRequests}`);
  assert.equal(result.beforeAbort, 10, "no hash is yielded after the abort");
  assert.deepEqual(result.leftRunning, { requests: 0, workers: 0 });
  assert.ok(
    lines.some((line) => line.startsWith("Aborted after 10 hashes: Enough")),
    lines.join("\n"),
  );
});

test(
  "registration: every Process exits 0 and the pool registers every user",
  async (lines, print) => {
    const result = await registration({ quick: true, print });
    assert.deepEqual(result.exitCodes, Array(result.users).fill(0));
    assert.deepEqual(result.registered, [
      "alice",
      "bob",
      "carol",
      "dave",
      "erin",
      "frank",
      "grace",
      "heidi",
    ]);
    assert.ok(result.processMs > 0 && result.poolMs > 0);
    assert.match(lines.join("\n"), /Process per user: .+\nPool\(\d+\)\.starmap: /);
  },
);

test(
  "methods: the table derived from the runs is the seed articles' table",
  async (lines, print) => {
    const rows = await methodsTable({ quick: true, print });
    assert.deepEqual(rows, [
      { method: "map", multiArgs: false, concurrent: true, blocking: true, ordered: true },
      { method: "apply", multiArgs: true, concurrent: false, blocking: true, ordered: "n/a" },
      { method: "mapAsync", multiArgs: false, concurrent: true, blocking: false, ordered: true },
      { method: "applyAsync", multiArgs: true, concurrent: true, blocking: false, ordered: false },
    ]);
    const tableRows = lines.filter((line) => /^\| (map|apply)/.test(line));
    assert.deepEqual(
      tableRows.map((line) => line.split("|").map((cell) => cell.trim()).slice(1, 6)),
      [
        ["map", "no", "yes", "yes", "yes"],
        ["apply", "yes", "no", "yes", "no (n/a)"],
        ["mapAsync", "no", "yes", "no", "yes"],
        ["applyAsync", "yes", "yes", "no", "no"],
      ],
    );
    assert.ok(lines.includes("Same as the seed articles' table"));
  },
);

test("coroutines: the two jobs interleave and overlap in time", async (lines, print) => {
  const result = await coroutines({ quick: true, print });
  assert.deepEqual(result.order.toSorted(), ["a", "a", "a", "a", "a", "b", "b", "b"]);
  assert.deepEqual(result.order.slice(0, 2), ["a", "b"]);
  assert.ok(result.elapsedMs < result.sequentialMs, `${result.elapsedMs} ms`);
  assert.equal(lines.filter((line) => /[ab]: (step|done)/.test(line)).length, 8);
});

test("cpu: one worker and all workers count the same primes", async (lines, print) => {
  const result = await cpuSpeedup({ quick: true, print });
  assert.deepEqual(result.counts, [148933, 148933]); // primes below 2e6
  assert.equal(result.workers, navigator.hardwareConcurrency);
  assert.ok(lines.some((line) => /^Speedup \d+\.\d\dx with \d+ workers$/.test(line)));
});

test(
  "imap: the generator is consumed in full, with progress lines and RSS figures",
  async (lines, print) => {
    const result = await imapProgress({ quick: true, print });
    assert.equal(result.items, 100_000);
    assert.equal(result.digitSum, 5 * 45 * 10_000 + 1); // digits of 1..99 999, plus 100 000
    assert.ok(result.progressLines >= 2 && result.progressLines <= 6, `${result.progressLines}`);
    assert.equal(
      lines.filter((line) => line.includes(" M/s ETA ")).length,
      result.progressLines,
    );
    // RSS is the whole process's (other test files may run in parallel): check the reporting only.
    assert.ok(
      result.rss.start > 0 && result.rss.peak >= result.rss.start,
      JSON.stringify(result.rss),
    );
  },
);

test("mandelbrot: writes a PNG that decodes", async (_lines, print) => {
  const outDir = await Deno.makeTempDir();
  try {
    const result = await mandelbrot({ quick: true, print, outDir });
    assert.equal(result.path, await Deno.realPath(`${outDir}/mandelbrot.png`));
    const png = await Deno.readFile(result.path);
    const { width, height, channels, pixels } = await decodePng(png);
    assert.deepEqual([width, height, channels], [result.width, result.height, 3]);
    // The middle of the main cardioid, c = -0.25 + 0i, is in the set: black.
    const x = Math.floor((2.25 / 3.5) * width);
    const y = Math.floor(height / 2);
    const offset = y * (1 + width * 3) + 1 + x * 3;
    assert.deepEqual([...pixels.subarray(offset, offset + 3)], [0, 0, 0]);
    // The corner, c = -2.5 - 1.25i, escapes at once: not black.
    assert.notDeepEqual([...pixels.subarray(1, 4)], [0, 0, 0]);
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});

test("png: crc32 matches the standard check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  return Promise.resolve();
});

test("png: a grayscale image round-trips with a filter byte per row", async () => {
  const data = new Uint8Array([0, 64, 128, 255, 10, 20]);
  const decoded = await decodePng(await encodePng({ width: 3, height: 2, channels: 1, data }));
  assert.deepEqual([decoded.width, decoded.height, decoded.channels], [3, 2, 1]);
  assert.deepEqual([...decoded.pixels], [0, 0, 64, 128, 0, 255, 10, 20]);
  await assert.rejects(encodePng({ width: 2, height: 2, channels: 3, data }), RangeError);
});

test("main: runs a part by name; --help and unknown names list the parts", async () => {
  const logged: string[] = [];
  const { log, error } = console;
  console.log = console.error = (...args: unknown[]) => logged.push(args.join(" "));
  try {
    assert.equal(await main(["--help"]), 0);
    for (const part of PARTS) assert.ok(logged.some((line) => line.includes(part.name)));
    assert.equal(await main(["nope"]), 2);
    assert.ok(logged.includes("Unknown part: nope"));
    logged.length = 0;
    assert.equal(await main(["coroutines"]), 0);
  } finally {
    Object.assign(console, { log, error });
  }
  assert.ok(
    logged.some((line) => line.includes("Two coroutines in a Group (gevent) [coroutines]")),
  );
  assert.ok(logged.some((line) => line.startsWith("Both done in")));
});

/**
 * Checks a PNG file the way a decoder does (signature, chunk CRCs, IHDR,
 * zlib stream of IDAT) and returns the inflated scanlines.
 */
async function decodePng(png: Uint8Array<ArrayBuffer>) {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const types: string[] = [];
  const idat: Uint8Array<ArrayBuffer>[] = [];
  let header: Uint8Array | undefined;
  for (let at = 8; at < png.length;) {
    const length = view.getUint32(at);
    const type = new TextDecoder().decode(png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + length);
    assert.equal(
      view.getUint32(at + 8 + length),
      crc32(png.subarray(at + 4, at + 8 + length)),
      type,
    );
    types.push(type);
    if (type === "IHDR") header = data;
    if (type === "IDAT") idat.push(data);
    at += 12 + length;
  }
  assert.deepEqual([types[0], types.at(-1)], ["IHDR", "IEND"]);
  assert.ok(header && header.length === 13);
  const ihdr = new DataView(header.buffer, header.byteOffset, 13);
  const [width, height] = [ihdr.getUint32(0), ihdr.getUint32(4)];
  assert.equal(header[8], 8, "bit depth");
  const channels = { 0: 1, 2: 3 }[header[9]];
  assert.ok(channels !== undefined, `color type ${header[9]}`);
  const inflated = new Blob(idat).stream().pipeThrough(new DecompressionStream("deflate"));
  const pixels = await new Response(inflated).bytes();
  assert.equal(pixels.length, height * (1 + width * channels));
  return { width, height, channels, pixels };
}
