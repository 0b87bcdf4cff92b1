import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const types: Record<string, string> = {
  ".ts": "application/typescript; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
};

/** Serves the repository read-only over HTTP, as a package registry would. */
function serveRepository(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    const file = new URL(`.${path}`, root);
    if (!file.href.startsWith(root.href) || path.includes("..")) {
      return new Response("Forbidden", { status: 403 });
    }
    try {
      const body = await Deno.readFile(file);
      const type = types[path.slice(path.lastIndexOf("."))] ?? "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("Not found", { status: 404 });
    }
  });
}

for (const backend of ["thread", "process"] as const) {
  Deno.test(`[${backend}] the package runs from http:// URLs with no file-system access`, async () => {
    const server = serveRepository();
    try {
      const origin = `http://127.0.0.1:${server.addr.port}`;
      const deno = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-config",
          "--no-lock",
          "--reload",
          `--allow-net=127.0.0.1:${server.addr.port}`,
          ...(backend === "process" ? [`--allow-run=${Deno.execPath()}`] : []),
          `${origin}/tests/fixtures/http_main.ts`,
          backend,
        ],
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      });
      const { code, stdout, stderr } = await deno.output();
      const err = new TextDecoder().decode(stderr);
      assert.equal(code, 0, `the http:// run failed:\n${err}`);
      const out = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
      assert.equal(out.url, `${origin}/tests/fixtures/http_main.ts`);
      assert.deepEqual(out.squares, [1, 4, 9, 16]);
      assert.deepEqual(out.primes, [1229, 1033]);
      assert.equal(out.inline, 6);
      assert.equal(out.live, 0);
    } finally {
      await server.shutdown();
    }
  });
}
