/**
 * Where the time of `pool.map(square, 0..n)` goes, phase by phase, each
 * timed alone on this machine (medians of a few runs): checking the items,
 * packing the chunks, moving them to a worker and back, the task
 * itself (split over the workers), and building the result array. Their sum
 * next to the measured map says what the rest (scheduling, messages, waits)
 * costs. Used by `bench/python_compare.ts`.
 *
 * @module
 */

import { packRange } from "../src/_protocol.ts";
import { checkArray, itemCheck } from "../src/_validate.ts";
import { median, square } from "./_pool_workloads.ts";

/** Milliseconds per phase. */
export interface MapPhases {
  /** Checking the items at the call. */
  check: number;
  /** Packing each chunk's numbers into a Float64Array (done chunk by chunk, as they go out). */
  packChunks: number;
  transfer: number;
  task: number;
  resultArray: number;
}

const ROUNDS = 9;

function timed(fn: () => void): number {
  for (let i = 0; i < 3; i++) fn(); // JIT-warm, as in a pool that has mapped before
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

/** Times each phase of a map of `items` on `size` workers, with map's default chunksize. */
export async function measureMapPhases(items: number[], size: number): Promise<MapPhases> {
  const chunksize = Math.ceil(items.length / (4 * size));
  const check = timed(() => checkArray(items, itemCheck(false), true));
  let chunks: Float64Array<ArrayBuffer>[] = [];
  const packChunks = timed(() => {
    chunks = [];
    for (let at = 0; at < items.length; at += chunksize) {
      chunks.push(packRange(items, at, Math.min(items.length, at + chunksize))!);
    }
  });
  const packed = new Float64Array(items);
  const transfer = await timeTransfer(chunks);
  const out = new Float64Array(packed.length);
  const task = timed(() => {
    for (let i = 0; i < packed.length; i++) out[i] = square(packed[i]);
  }) / size;
  const resultArray = timed(() => {
    const results = new Array<unknown>(out.length);
    let at = 0;
    for (let at2 = 0; at2 < out.length; at2 += chunksize) {
      const part = out.subarray(at2, at2 + chunksize);
      for (let i = 0; i < part.length; i++) results[at++] = part[i];
    }
  });
  return { check, packChunks, transfer, task, resultArray };
}

/** Moves every chunk to a worker that sends it straight back (transferred both ways). */
async function timeTransfer(chunks: Float64Array<ArrayBuffer>[]): Promise<number> {
  const source = "self.onmessage = (e) => self.postMessage(e.data, [e.data.buffer]);";
  const worker = new Worker(`data:application/javascript,${encodeURIComponent(source)}`, {
    type: "module",
  });
  try {
    const times: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const copies = chunks.map((chunk) => chunk.slice());
      const start = performance.now();
      let left = copies.length;
      const done = new Promise<void>((resolve) => {
        worker.onmessage = () => {
          if (--left === 0) resolve();
        };
      });
      for (const chunk of copies) worker.postMessage(chunk, [chunk.buffer]);
      await done;
      times.push(performance.now() - start);
    }
    return median(times);
  } finally {
    worker.terminate();
  }
}
