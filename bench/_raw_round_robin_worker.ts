/**
 * The raw side of `peers_compare.ts`: a bare Web Worker, one message per
 * task each way, no pool and no protocol. A number `x` is the tiny task and
 * answers `inc(x)`; `{ spin: ms }` is the busy task and answers `spin(ms)`.
 *
 * @module
 */

import { inc, spin } from "./_peer_tasks.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<number | { spin: number }>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (event) => {
  const data = event.data;
  scope.postMessage(typeof data === "number" ? inc(data) : spin(data.spin));
};
