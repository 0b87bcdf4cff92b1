/**
 * Serialization for the wires that leave this process (the process
 * backend's frames, the NATS backend's messages): `node:v8` `serialize`,
 * except that a `SharedArrayBuffer` travels as a copy of its bytes. Memory
 * cannot be shared with another process; `serialize` copies the bytes of a
 * typed array or `DataView` over one already, but throws on a bare
 * `SharedArrayBuffer` ("could not be cloned"). The walk that replaces them
 * runs only after `serialize` failed, so values without one cost nothing.
 *
 * @module
 */

import { serialize } from "node:v8";

/**
 * `serialize(value)`, with every bare `SharedArrayBuffer` in `value`
 * replaced by an `ArrayBuffer` copy (the same copy wherever it occurs).
 *
 * @throws {Error} when `value` cannot be serialized for another reason (a function, a symbol).
 */
export function serializeUnshared(value: unknown): Uint8Array {
  try {
    return serialize(value);
  } catch (error) {
    const walk: Walk = { found: false, seen: new Map() };
    const copy = unshare(value, walk);
    if (!walk.found) throw error;
    return serialize(copy);
  }
}

interface Walk {
  /** Whether a SharedArrayBuffer was replaced. */
  found: boolean;
  /** What each object visited became: shared references and cycles stay so. */
  readonly seen: Map<object, unknown>;
}

/** `value` rebuilt with its SharedArrayBuffers copied; values that hold none inside are kept. */
function unshare(value: unknown, walk: Walk): unknown {
  if (typeof value !== "object" || value === null) return value;
  const done = walk.seen.get(value);
  if (done !== undefined) return done;
  if (value instanceof SharedArrayBuffer) {
    walk.found = true;
    const copy = new ArrayBuffer(value.byteLength);
    new Uint8Array(copy).set(new Uint8Array(value));
    walk.seen.set(value, copy);
    return copy;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    walk.seen.set(value, out);
    for (let i = 0; i < value.length; i++) if (i in value) out[i] = unshare(value[i], walk);
    return out;
  }
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    walk.seen.set(value, out);
    for (const [k, v] of value) out.set(unshare(k, walk), unshare(v, walk));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set<unknown>();
    walk.seen.set(value, out);
    for (const v of value) out.add(unshare(v, walk));
    return out;
  }
  if (
    ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date ||
    value instanceof RegExp || value instanceof Error || value instanceof Boolean ||
    value instanceof Number || value instanceof String
  ) {
    return value; // serialize copies a view's bytes, shared or not
  }
  // Any other object travels as its own enumerable properties, as structured clone sends it.
  const out: Record<string, unknown> = {};
  walk.seen.set(value, out);
  for (const key of Object.keys(value)) {
    out[key] = unshare((value as Record<string, unknown>)[key], walk);
  }
  return out;
}
