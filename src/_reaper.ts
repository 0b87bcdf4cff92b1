/**
 * The reaper: one small `deno` subprocess that kills this host's
 * subprocess workers when the host ends, however it ends (an uncaught
 * error, `Deno.exit()`, a signal): its stdin is a pipe from the host, which
 * closes when the host is gone. A worker that is idle notices that on its
 * own stdin; one spinning in a loop cannot, and the reaper kills it. It
 * runs while at least one subprocess worker does, needs nothing but
 * `--allow-run`, and never keeps the host alive.
 *
 * @module
 */

import { ownModuleAccess } from "./_own_modules.ts";

const entry = new URL("./_reaper_process.ts", import.meta.url);
const encoder = new TextEncoder();

interface Reaper {
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly pids: Set<number>;
  /** Settles when the reaper process has exited. */
  readonly exited: Promise<void>;
}

let current: Reaper | undefined;

/** Puts `pid` on the list of processes to kill when the host ends. */
export function watchPid(pid: number): void {
  current ??= start();
  if (current === undefined) return;
  current.pids.add(pid);
  send(current, `+${pid}\n`);
}

/**
 * Takes `pid` off the list (it has exited). When it was the last one, the
 * reaper stops; the promise settles once it has.
 */
export function unwatchPid(pid: number): Promise<void> {
  const reaper = current;
  if (reaper === undefined || !reaper.pids.delete(pid)) return Promise.resolve();
  send(reaper, `-${pid}\n`);
  if (reaper.pids.size > 0) return Promise.resolve();
  current = undefined;
  reaper.writer.close().catch(() => {});
  return reaper.exited;
}

function start(): Reaper | undefined {
  const own = ownModuleAccess();
  const args = ["run", "--quiet", "--no-config", "--no-lock", "--no-prompt", "--allow-run"];
  if (own.kind === "net") args.push(`--allow-import=${own.host}`);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(Deno.execPath(), {
      args: [...args, entry.href],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch {
    return undefined; // workers still end when idle; a spinning one may outlive a crashed host
  }
  child.unref();
  return {
    writer: child.stdin.getWriter(),
    pids: new Set(),
    exited: child.status.then(() => {}),
  };
}

function send(reaper: Reaper, line: string): void {
  reaper.writer.write(encoder.encode(line)).catch(() => {});
}
