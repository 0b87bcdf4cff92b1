// The process backend's wire: frames (node:v8 or JSON bodies) with text
// around them, split at every possible place, and worker output relayed in
// whole lines (issue 12, points 1 and 6).

import assert from "node:assert/strict";
import { encodeFrame, FrameReader } from "../src/_frames.ts";
import { LineRelay } from "../src/_output_lines.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const MESSAGES: unknown[] = [
  [0, 1, [[1, 2]], 1],
  { type: "task", task: 0, spec: { kind: "source", source: "(x) => x", name: "f" } },
  [1, new Float64Array([1.5, -0, NaN])],
  { type: "init", initializer: undefined, initArgs: [] },
  [2, [new Map([[1, { a: 10n }]]), new Set(["s"]), undefined, -0, Infinity, new Date(0)]],
  [3, ["ünïcødé \u{1F600}", "", null, true, [, 1]]],
  // A chunk the slot already encoded as JSON text, and the empty string: strings come back as they are.
  '[4,0,[[5]],1] "ü\u{1F600}"',
  "",
];

/** Text, frames and text in one stream. */
function stream(): Uint8Array {
  const parts = [
    encoder.encode("before\n"),
    ...MESSAGES.flatMap((
      m,
      i,
    ) => [encodeFrame(m), encoder.encode(i % 2 ? "" : `out ${i}\x00 nul\n`)]),
    encoder.encode("after"),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

Deno.test("frames: every message comes back as structured clone would give it, at every split", () => {
  const bytes = stream();
  const expected = MESSAGES.map((m) => structuredClone(m));
  for (let split = 1; split <= bytes.length; split += split < 64 ? 1 : 7) {
    const reader = new FrameReader();
    const frames: unknown[] = [];
    let text = "";
    for (let offset = 0; offset < bytes.length; offset += split) {
      const chunk = bytes.slice(offset, offset + split);
      reader.push(chunk, (m) => frames.push(m), (t) => (text += decoder.decode(t)));
      chunk.fill(0xaa); // the reader must not keep the caller's buffer
    }
    assert.deepEqual(frames, expected, `split every ${split} bytes`);
    assert.equal(text, "before\nout 0\x00 nul\nout 2\x00 nul\nout 4\x00 nul\nout 6\x00 nul\nafter");
  }
});

Deno.test("frames: a big chunk of numbers arrives whole, its floats in place", () => {
  const floats = Float64Array.from({ length: 100_003 }, (_, i) => i * 1.5);
  const frames = [encodeFrame([7, 0, floats, 0]), encodeFrame([8, floats.subarray(1, 4)])];
  const reader = new FrameReader();
  const seen: unknown[] = [];
  const bytes = new Uint8Array(frames[0].length + frames[1].length);
  bytes.set(frames[0]);
  bytes.set(frames[1], frames[0].length);
  for (let offset = 0; offset < bytes.length; offset += 65_536) {
    reader.push(bytes.subarray(offset, offset + 65_536), (m) => seen.push(m), () => assert.fail());
  }
  assert.deepEqual(seen, [[7, 0, floats, 0], [8, floats.subarray(1, 4)]]);
  const ints = Float64Array.from([0, -1, 2 ** 31 - 1, -(2 ** 31)]);
  const edge = [Float64Array.of(-0, 1), Float64Array.of(2 ** 31), Float64Array.of(0.5), ints];
  for (const numbers of edge) {
    const back: unknown[] = [];
    new FrameReader().push(encodeFrame([1, numbers]), (m) => back.push(m), () => {});
    assert.deepEqual(back, [[1, numbers]]);
  }
  assert.ok(encodeFrame([1, ints]).length < encodeFrame([1, Float64Array.of(0.5, 0, 0, 0)]).length);
});

Deno.test("frames: small plain values travel as JSON, tuples with floats as bytes, others as node:v8", () => {
  const tag = (value: unknown) => String.fromCharCode(encodeFrame(value)[8]);
  assert.equal(tag([0, 0, [[1]], 1]), "J");
  assert.equal(tag([0, 0, new Float64Array(3), 1]), "F");
  assert.equal(tag([0, new Float64Array(3), new Float64Array(3)]), "V", "two arrays");
  assert.equal(tag([0, new Float64Array(3), new Map()]), "V");
  assert.equal(tag({ a: [1, "x", null, false] }), "J");
  for (const value of [[undefined], [NaN], [-0], [1n], [new Uint8Array(1)], [[, 1]], new Map()]) {
    assert.equal(tag(value), "V", Deno.inspect(value));
  }
  assert.equal(tag(Array.from({ length: 100 }, (_, i) => i)), "V", "too big for the JSON check");
  assert.throws(() => encodeFrame([() => 1]), /could not be cloned/);
});

Deno.test("lines: output is written in whole lines; a partial line waits for its end", () => {
  const writes: string[] = [];
  const relay = new LineRelay({
    writeSync(bytes) {
      // A sink that takes at most 5 bytes per call: the relay must finish the write.
      writes.push(decoder.decode(bytes.subarray(0, 5)));
      return Math.min(5, bytes.length);
    },
  });
  const whole: string[] = [];
  const sink = () => (whole.push(writes.join("")), writes.length = 0);
  relay.push(encoder.encode("hel"));
  assert.equal(writes.length, 0, "no newline yet");
  relay.push(encoder.encode("lo\nwor"));
  sink();
  relay.push(encoder.encode("ld\nline 3\nline 4 "));
  sink();
  relay.end();
  sink();
  assert.deepEqual(whole, ["hello\n", "world\nline 3\n", "line 4 \n"]);
});
