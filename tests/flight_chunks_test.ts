// The chunks a worker slot holds for one message (src/_flight_chunks.ts):
// a map of id -> wanted that keeps the order sent.

import assert from "node:assert/strict";
import { FlightChunks } from "../src/_flight_chunks.ts";

Deno.test("flight chunks: answered in order, the first left is the oldest", () => {
  const held = new FlightChunks([4, 5, 6]);
  assert.equal(held.size, 3);
  assert.equal(held.first(), 4);
  assert.equal(held.firstWanted(), true);
  held.delete(4);
  assert.equal(held.first(), 5);
  assert.equal(held.has(4), false);
  assert.equal(held.get(4), undefined);
  held.delete(5);
  held.delete(6);
  assert.equal(held.size, 0);
  assert.equal(held.first(), undefined);
  assert.equal(held.firstWanted(), false);
  held.delete(6); // twice: nothing
  assert.equal(held.size, 0);
});

Deno.test("flight chunks: a cancelled chunk stays held, unwanted, until answered or skipped", () => {
  const held = new FlightChunks([1, 2, 3]);
  held.cancel(2);
  assert.equal(held.get(2), false);
  assert.equal(held.has(2), true);
  assert.deepEqual([...held], [[1, true], [2, false], [3, true]]);
  held.delete(1);
  assert.equal(held.first(), 2);
  assert.equal(held.firstWanted(), false, "the oldest left is one nobody wants");
  held.cancel(9); // not held: nothing
  assert.equal(held.size, 2);
});

Deno.test("flight chunks: a chunk answered out of order (a drop) leaves the others in order", () => {
  const held = new FlightChunks([1, 2, 3, 4]);
  held.delete(3);
  assert.deepEqual([...held].map(([id]) => id), [1, 2, 4]);
  held.delete(1);
  held.delete(2);
  assert.equal(held.first(), 4, "the head skips the chunk answered earlier");
  assert.equal(held.size, 1);
  // Deleting while iterating (a resume dropping cancelled chunks) visits each once.
  const all = new FlightChunks([7, 8, 9]);
  const seen: number[] = [];
  for (const [id] of all) {
    seen.push(id);
    all.delete(id);
  }
  assert.deepEqual(seen, [7, 8, 9]);
  assert.equal(all.size, 0);
});
