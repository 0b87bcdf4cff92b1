/**
 * The baseline of the round-trip benchmarks: a bare Web Worker that posts
 * every message straight back. No pool, no protocol, no task lookup.
 *
 * @module
 */

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (event) => scope.postMessage(event.data);
