/**
 * The frame codec of the process backend: protocol messages between the
 * host and a `deno` subprocess travel over a pipe as frames — a 4-byte
 * marker, a 4-byte little-endian length, a 1-byte codec tag, the body.
 * The body is `node:v8` `serialize` (the structured-clone value model:
 * Map, Set, BigInt, typed arrays, errors), or JSON when the value is small
 * and JSON keeps it exactly (a round trip then costs a third of the time).
 *
 * Whatever else reaches the pipe (a task writing to stdout) is not a frame:
 * the reader hands such bytes on as text, so output never breaks the
 * framing. The marker starts with a NUL byte and holds 0xFF, which UTF-8
 * text never contains.
 *
 * @module
 */

import { deserialize, serialize } from "node:v8";

const MARKER = [0x00, 0xff, 0x6d, 0x70] as const;
const HEADER = 9;
const JSON_TAG = 0x4a;
const V8_TAG = 0x56;
/** Values with more nodes than this skip the JSON check. */
const JSON_BUDGET = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes one message as a frame.
 *
 * @throws {Error} when the value cannot be serialized (a function, a `SharedArrayBuffer`).
 */
export function encodeFrame(value: unknown): Uint8Array {
  const json = jsonSafe(value, { left: JSON_BUDGET })
    ? encoder.encode(JSON.stringify(value))
    : undefined;
  const body = json ?? serialize(value);
  const frame = new Uint8Array(HEADER + body.length);
  frame.set(MARKER);
  new DataView(frame.buffer).setUint32(4, body.length, true);
  frame[8] = json === undefined ? V8_TAG : JSON_TAG;
  frame.set(body, HEADER);
  return frame;
}

/** Splits a byte stream into frames (decoded) and the text around them. */
export class FrameReader {
  #pending: Uint8Array = new Uint8Array(0);

  /**
   * Reads `chunk` (which may be reused afterwards), calling `onFrame` with
   * each decoded message and `onText` with bytes that are not a frame, in
   * stream order.
   */
  push(
    chunk: Uint8Array,
    onFrame: (message: unknown) => void,
    onText: (bytes: Uint8Array) => void,
  ): void {
    const buffer = this.#pending.length === 0 ? chunk : concat(this.#pending, chunk);
    let offset = 0;
    while (offset < buffer.length) {
      if (buffer[offset] === MARKER[0]) {
        const have = buffer.length - offset;
        if (have < HEADER && isMarkerPrefix(buffer, offset, Math.min(have, MARKER.length))) break;
        if (have >= HEADER && isMarkerPrefix(buffer, offset, MARKER.length)) {
          const length = readLength(buffer, offset + 4);
          if (have - HEADER < length) break;
          const body = buffer.subarray(offset + HEADER, offset + HEADER + length);
          onFrame(
            buffer[offset + 8] === JSON_TAG ? JSON.parse(decoder.decode(body)) : deserialize(body),
          );
          offset += HEADER + length;
          continue;
        }
      }
      let end = buffer.indexOf(MARKER[0], offset + 1);
      if (end < 0) end = buffer.length;
      onText(buffer.subarray(offset, end));
      offset = end;
    }
    this.#pending = offset === buffer.length ? new Uint8Array(0) : buffer.slice(offset);
  }
}

function isMarkerPrefix(buffer: Uint8Array, offset: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (buffer[offset + i] !== MARKER[i]) return false;
  return true;
}

function readLength(buffer: Uint8Array, at: number): number {
  return (buffer[at] | buffer[at + 1] << 8 | buffer[at + 2] << 16 | buffer[at + 3] << 24) >>> 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Whether JSON keeps `value` exactly as structured clone would: finite
 * numbers (not -0), strings, booleans, null, and plain arrays (no holes)
 * and objects of those, within `budget` nodes.
 */
function jsonSafe(value: unknown, budget: { left: number }): boolean {
  if (--budget.left < 0) return false;
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !jsonSafe(value[i], budget)) return false;
        }
        return true;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return false;
      for (const key in value) {
        if (key === "__proto__" || !Object.hasOwn(value, key)) return false;
        if (!jsonSafe((value as Record<string, unknown>)[key], budget)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}
