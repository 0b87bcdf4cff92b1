/**
 * Relays a subprocess worker's output to the host's stdout or stderr in
 * whole lines: bytes are held until a newline, then every complete line
 * goes out in one write from the host's one thread, so lines of different
 * workers (and of the host) never mix mid-line. A very long line is let
 * through in pieces; what is left when the worker ends gets a newline.
 *
 * @module
 */

/** Longest partial line held back (bytes). */
const MAX_PENDING = 1 << 16;
const NEWLINE = 0x0a;

/** Where a relay writes: the host's stdout or stderr. */
export interface LineSink {
  writeSync(bytes: Uint8Array): number;
}

/** One output stream of one worker; see the module doc. */
export class LineRelay {
  readonly #sink: LineSink;
  #pending: Uint8Array[] = [];
  #pendingLength = 0;

  constructor(sink: LineSink) {
    this.#sink = sink;
  }

  /** Takes `bytes` (which may be reused afterwards) and writes the lines it completes. */
  push(bytes: Uint8Array): void {
    const last = bytes.lastIndexOf(NEWLINE);
    if (last < 0) {
      this.#hold(bytes);
      if (this.#pendingLength > MAX_PENDING) this.#write(this.#take(new Uint8Array(0)));
      return;
    }
    this.#write(this.#take(bytes.subarray(0, last + 1)));
    if (last + 1 < bytes.length) this.#hold(bytes.subarray(last + 1));
  }

  /** The stream ended: writes a partial line left over, with a newline. */
  end(): void {
    if (this.#pendingLength === 0) return;
    this.#write(this.#take(Uint8Array.of(NEWLINE)));
  }

  #hold(bytes: Uint8Array): void {
    this.#pending.push(bytes.slice());
    this.#pendingLength += bytes.length;
  }

  /** What is held, followed by `tail`, as one buffer; nothing is held afterwards. */
  #take(tail: Uint8Array): Uint8Array {
    if (this.#pendingLength === 0) return tail;
    const out = new Uint8Array(this.#pendingLength + tail.length);
    let offset = 0;
    for (const part of this.#pending) {
      out.set(part, offset);
      offset += part.length;
    }
    out.set(tail, offset);
    this.#pending = [];
    this.#pendingLength = 0;
    return out;
  }

  #write(bytes: Uint8Array): void {
    try {
      for (let offset = 0; offset < bytes.length;) {
        offset += this.#sink.writeSync(bytes.subarray(offset));
      }
    } catch {
      // The host's stream is closed: the output has nowhere to go.
    }
  }
}
