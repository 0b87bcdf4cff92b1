/**
 * The frame codec of the process backend: protocol messages between the
 * host and a `deno` subprocess travel over a pipe as frames — a 4-byte
 * marker, a 4-byte little-endian length, a 1-byte codec tag, the body.
 * The body is one of:
 *
 * - JSON, when the value is small and JSON keeps it exactly (a round trip
 *   then costs a third of `node:v8`'s);
 * - a string's UTF-8 bytes (a chunk or an answer the slot or the runner
 *   already encoded as JSON text: not encoded twice);
 * - a tuple of plain values and one `Float64Array` (a chunk of numbers, or
 *   its results: the bulk of a big `map`): the tuple as JSON, then the
 *   array's bytes, 8-byte aligned, so the reader takes them without
 *   decoding (as 32-bit integers when they all are: half the bytes);
 * - `node:v8` `serialize` otherwise (the structured-clone value model:
 *   Map, Set, BigInt, typed arrays, errors); memory cannot be shared with
 *   a process, so a `SharedArrayBuffer` (or a view over one) travels as a
 *   copy of its bytes (`_unshared.ts`).
 *
 * Whatever else reaches the pipe (a task writing to stdout) is not a frame:
 * the reader hands such bytes on as text, so output never breaks the
 * framing. The marker starts with a NUL byte and holds 0xFF, which UTF-8
 * text never contains.
 *
 * @module
 */

import { deserialize } from "node:v8";
import { JSON_BUDGET, jsonSafe } from "./_protocol.ts";
import { serializeUnshared } from "./_unshared.ts";

const MARKER = [0x00, 0xff, 0x6d, 0x70] as const;
const HEADER = 9;
const JSON_TAG = 0x4a;
const V8_TAG = 0x56;
const FLOATS_TAG = 0x46;
const TEXT_TAG = 0x54;
/** Strings up to this long are tried as ASCII, copied without a TextEncoder call. */
const ASCII_COPY_MAX = 256;
/** The longest tuple that may travel with the floats codec. */
const FLOATS_TUPLE = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes one message as a frame.
 *
 * @throws {Error} when the value cannot be serialized (a function, a symbol).
 */
export function encodeFrame(value: unknown): Uint8Array {
  const floats = floatsAt(value);
  if (floats !== undefined) return encodeFloats(value as unknown[], floats);
  // A message already encoded as JSON text by the slot or the runner: its bytes as they are.
  if (typeof value === "string") return encodeString(value, TEXT_TAG);
  if (jsonSafe(value, { left: JSON_BUDGET })) return encodeString(JSON.stringify(value), JSON_TAG);
  const body = serializeUnshared(value);
  const frame = new Uint8Array(HEADER + body.length);
  writeHeader(frame, body.length, V8_TAG);
  frame.set(body, HEADER);
  return frame;
}

function writeHeader(frame: Uint8Array, length: number, tag: number): void {
  // Byte by byte: a DataView and a set() per frame cost more than the whole of a small one.
  frame[0] = MARKER[0];
  frame[1] = MARKER[1];
  frame[2] = MARKER[2];
  frame[3] = MARKER[3];
  frame[4] = length & 0xff;
  frame[5] = (length >>> 8) & 0xff;
  frame[6] = (length >>> 16) & 0xff;
  frame[7] = length >>> 24;
  frame[8] = tag;
}

/**
 * A string's UTF-8 bytes as a frame with `tag` (TEXT, or JSON for a value
 * encoded here); a short ASCII one (JSON of plain values, a bare number) is
 * copied char by char.
 */
function encodeString(value: string, tag: number): Uint8Array {
  const n = value.length;
  if (n <= ASCII_COPY_MAX) {
    const frame = new Uint8Array(HEADER + n);
    let i = 0;
    for (; i < n; i++) {
      const code = value.charCodeAt(i);
      if (code > 0x7f) break;
      frame[HEADER + i] = code;
    }
    if (i === n) {
      writeHeader(frame, n, tag);
      return frame;
    }
  }
  const text = encoder.encode(value);
  const frame = new Uint8Array(HEADER + text.length);
  writeHeader(frame, text.length, tag);
  frame.set(text, HEADER);
  return frame;
}

/** Where the one `Float64Array` of a tuple of otherwise plain values is, if it is such a tuple. */
function floatsAt(value: unknown): number | undefined {
  if (!Array.isArray(value) || value.length > FLOATS_TUPLE) return undefined;
  let at: number | undefined;
  const budget = { left: JSON_BUDGET };
  for (let i = 0; i < value.length; i++) {
    if (value[i] instanceof Float64Array) {
      if (at !== undefined) return undefined;
      at = i;
    } else if (!(i in value) || !jsonSafe(value[i], budget)) return undefined;
  }
  return at;
}

/**
 * Body: the tuple as JSON (its floats as null, and whether they travel as
 * 32-bit integers) with its length, padding, then the numbers' bytes.
 * Floats that are all 32-bit integers (the inputs of a `map` over a range)
 * travel in half the bytes.
 */
function encodeFloats(tuple: unknown[], at: number): Uint8Array {
  const floats = tuple[at] as Float64Array;
  const ints = int32s(floats);
  const numbers = ints ?? floats;
  const meta = encoder.encode(
    JSON.stringify([at, ints === undefined ? 8 : 4, tuple.map((v, i) => i === at ? null : v)]),
  );
  const start = align(HEADER + 4 + meta.length);
  const frame = new Uint8Array(start + numbers.byteLength);
  writeHeader(frame, frame.length - HEADER, FLOATS_TAG);
  new DataView(frame.buffer).setUint32(HEADER, meta.length, true);
  frame.set(meta, HEADER + 4);
  frame.set(new Uint8Array(numbers.buffer, numbers.byteOffset, numbers.byteLength), start);
  return frame;
}

/** `floats` as 32-bit integers, when each is one (and none is -0); else `undefined`. */
function int32s(floats: Float64Array): Int32Array | undefined {
  const ints = new Int32Array(floats.length);
  for (let i = 0; i < floats.length; i++) {
    const value = floats[i];
    if ((value | 0) !== value || (value === 0 && 1 / value < 0)) return undefined;
    ints[i] = value;
  }
  return ints;
}

/** The next multiple of 8. */
function align(offset: number): number {
  return (offset + 7) & ~7;
}

/**
 * Decodes the frame at `offset` of `buffer`. With `owned`, the buffer is
 * the reader's own: floats may stay in it (a view, no copy).
 */
function decodeFrame(buffer: Uint8Array, offset: number, owned: boolean): unknown {
  const length = readLength(buffer, offset + 4);
  const body = buffer.subarray(offset + HEADER, offset + HEADER + length);
  switch (buffer[offset + 8]) {
    case JSON_TAG:
      return JSON.parse(decoder.decode(body));
    case TEXT_TAG:
      return decoder.decode(body);
    case FLOATS_TAG: {
      const metaLength = readLength(buffer, offset + HEADER);
      const [at, width, tuple] = JSON.parse(
        decoder.decode(buffer.subarray(offset + HEADER + 4, offset + HEADER + 4 + metaLength)),
      ) as [number, 4 | 8, unknown[]];
      const start = offset + align(HEADER + 4 + metaLength);
      const end = offset + HEADER + length;
      if (width === 4) {
        tuple[at] = Float64Array.from(new Int32Array(buffer.slice(start, end).buffer));
      } else {
        tuple[at] = owned && (buffer.byteOffset + start) % 8 === 0
          ? new Float64Array(buffer.buffer, buffer.byteOffset + start, (end - start) / 8)
          : new Float64Array(buffer.slice(start, end).buffer);
      }
      return tuple;
    }
    default:
      return deserialize(body);
  }
}

/** Splits a byte stream into frames (decoded) and the text around them. */
export class FrameReader {
  /** Bytes not consumed yet (a copy: callers reuse their chunks), shorter than a header. */
  #rest: Uint8Array = new Uint8Array(0);
  /** A frame bigger than a chunk, filled as it arrives: copied once. */
  #frame: Uint8Array | undefined;
  #filled = 0;

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
    let input = chunk;
    const frame = this.#frame;
    if (frame !== undefined) {
      const take = Math.min(frame.length - this.#filled, input.length);
      frame.set(input.subarray(0, take), this.#filled);
      this.#filled += take;
      if (this.#filled < frame.length) return;
      this.#frame = undefined;
      onFrame(decodeFrame(frame, 0, true));
      input = input.subarray(take);
    } else if (this.#rest.length > 0) {
      input = join([this.#rest, input]);
      this.#rest = new Uint8Array(0);
    }
    this.#consume(input, onFrame, onText);
  }

  #consume(
    buffer: Uint8Array,
    onFrame: (message: unknown) => void,
    onText: (bytes: Uint8Array) => void,
  ): void {
    let offset = 0;
    while (offset < buffer.length) {
      if (buffer[offset] === MARKER[0]) {
        const have = buffer.length - offset;
        if (have < HEADER && isMarkerPrefix(buffer, offset, Math.min(have, MARKER.length))) {
          this.#rest = buffer.slice(offset);
          return;
        }
        if (have >= HEADER && isMarkerPrefix(buffer, offset, MARKER.length)) {
          const size = HEADER + readLength(buffer, offset + 4);
          if (have < size) {
            // The rest of this frame comes in later chunks: it is gathered in a buffer of its own.
            this.#frame = new Uint8Array(size);
            this.#frame.set(buffer.subarray(offset));
            this.#filled = have;
            return;
          }
          onFrame(decodeFrame(buffer, offset, false));
          offset += size;
          continue;
        }
      }
      let end = buffer.indexOf(MARKER[0], offset + 1);
      if (end < 0) end = buffer.length;
      onText(buffer.subarray(offset, end));
      offset = end;
    }
  }
}

function isMarkerPrefix(buffer: Uint8Array, offset: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (buffer[offset + i] !== MARKER[i]) return false;
  return true;
}

function readLength(buffer: Uint8Array, at: number): number {
  return (buffer[at] | buffer[at + 1] << 8 | buffer[at + 2] << 16 | buffer[at + 3] << 24) >>> 0;
}

/** `parts` (of `length` bytes in all) as one buffer. */
export function join(parts: readonly Uint8Array[], length?: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(length ?? parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
