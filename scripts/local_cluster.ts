/**
 * A NATS pool on this machine, for tests, the cluster benchmark and the
 * demo: `nats-server -js` on a free loopback port with a temporary store
 * directory, and remote worker processes (`worker_cli.ts`) started with
 * `deno run`. Everything it starts is stopped by its pid.
 *
 * @module
 */

/** What to tell someone who has no `nats-server`. */
export const NATS_INSTALL_HINT =
  "nats-server is not installed: on Debian or Ubuntu run `apt-get install -y nats-server` " +
  "(or get a release from https://github.com/nats-io/nats-server/releases) and put it on PATH";

const WORKER_CLI = new URL("../worker_cli.ts", import.meta.url);

/** The path of `nats-server` (on PATH, or where Debian puts it), or `undefined`. */
export function findNatsServer(): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((dir) => dir !== "");
  for (const dir of [...dirs, "/usr/sbin", "/usr/local/sbin", "/usr/local/bin"]) {
    const path = `${dir}/nats-server`;
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 (free when asked: bind it soon). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** A running `nats-server`. */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops it (SIGTERM), waits for it and deletes its store. */
  stop(): Promise<void>;
  /** Kills it (SIGKILL) at once, as a crash would; `stop()` still cleans up. */
  kill(): Promise<void>;
}

/**
 * Starts `nats-server -js` on a free loopback port with a temporary store
 * and waits until it accepts connections.
 *
 * @throws {Error} with {@linkcode NATS_INSTALL_HINT} when there is no `nats-server`.
 */
export async function startNatsServer(options: { args?: string[] } = {}): Promise<NatsServer> {
  const binary = findNatsServer();
  if (binary === undefined) throw new Error(NATS_INSTALL_HINT);
  const dir = await Deno.makeTempDir({ prefix: "multipool-nats-" });
  for (let attempt = 0;; attempt++) {
    const port = freePort();
    const child = new Deno.Command(binary, {
      args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir, ...(options.args ?? [])],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    if (await accepts(port, child.status)) {
      let stopped: Promise<void> | undefined;
      const signal = (name: Deno.Signal) => {
        try {
          child.kill(name);
        } catch {
          // Gone already.
        }
      };
      return {
        url: `nats://127.0.0.1:${port}`,
        port,
        pid: child.pid,
        kill: async () => {
          signal("SIGKILL");
          await child.status;
        },
        stop: () =>
          stopped ??= (async () => {
            signal("SIGTERM");
            await child.status;
            await Deno.remove(dir, { recursive: true }).catch(() => {});
          })(),
      };
    }
    await child.status;
    if (attempt >= 3) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(`nats-server did not start on 127.0.0.1 (tried ${attempt + 1} ports)`);
    }
  }
}

/** Whether a server on `port` accepts a connection within 5 s (false once `exited` settles). */
async function accepts(port: number, exited: Promise<Deno.CommandStatus>): Promise<boolean> {
  let dead = false;
  exited.then(() => dead = true);
  const deadline = Date.now() + 5_000;
  while (!dead && Date.now() < deadline) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return false;
}

/** A running worker process. */
export interface WorkerProcess {
  readonly name: string;
  readonly pid: number;
  /** Every line it printed so far (stdout and stderr). */
  readonly lines: readonly string[];
  /** Settles when it exits. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Sends `signal` (default SIGTERM) and waits until it exits (SIGKILL after `graceMs`). */
  stop(options?: { signal?: Deno.Signal; graceMs?: number }): Promise<Deno.CommandStatus>;
}

/** Options of {@linkcode startWorker}. */
export interface WorkerProcessOptions {
  readonly pool: string;
  readonly name: string;
  /** More flags, e.g. `["--concurrency", "2", "--allow-inline"]`. */
  readonly args?: readonly string[];
}

/**
 * Starts `deno run -A --no-lock worker_cli.ts --servers <url> ...` and waits for its
 * ready line.
 *
 * @throws {Error} with its output when it exits or does not get ready within 30 s.
 */
export async function startWorker(
  url: string,
  options: WorkerProcessOptions,
): Promise<WorkerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      // Task modules a test serves from a random port must not land in the project's lock file.
      "--no-lock",
      WORKER_CLI.href,
      "--servers",
      url,
      "--pool",
      options.pool,
      "--name",
      options.name,
      ...(options.args ?? []),
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const ready = Promise.withResolvers<boolean>();
  const read = (stream: ReadableStream<Uint8Array>) =>
    (async () => {
      for await (
        const line of stream.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter())
      ) {
        lines.push(line);
        if (/ ready: /.test(line)) ready.resolve(true);
      }
    })();
  const reading = Promise.all([read(child.stdout), read(child.stderr)]);
  const status = child.status.then(async (status) => {
    await reading;
    ready.resolve(false);
    return status;
  });
  const timer = setTimeout(() => ready.resolve(false), 30_000);
  const isReady = await ready.promise;
  clearTimeout(timer);
  const stop = async (stopOptions: { signal?: Deno.Signal; graceMs?: number } = {}) => {
    try {
      child.kill(stopOptions.signal ?? "SIGTERM");
    } catch {
      // Gone already.
    }
    const grace = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Gone already.
      }
    }, stopOptions.graceMs ?? 15_000);
    try {
      return await status;
    } finally {
      clearTimeout(grace);
    }
  };
  if (!isReady) {
    await stop({ signal: "SIGKILL" });
    throw new Error(`Worker ${options.name} did not get ready:\n${lines.join("\n")}`);
  }
  return { name: options.name, pid: child.pid, lines, status, stop };
}

/** Whether no process `pid` exists any more (Linux: no `/proc/<pid>`). */
export function processGone(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return false;
  } catch {
    return true;
  }
}

function lineSplitter(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(text, controller) {
      const parts = (rest + text).split("\n");
      rest = parts.pop()!;
      for (const part of parts) controller.enqueue(part);
    },
    flush(controller) {
      if (rest !== "") controller.enqueue(rest);
    },
  });
}
