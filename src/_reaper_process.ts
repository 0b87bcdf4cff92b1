/**
 * The reaper process (see `_reaper.ts`): reads `+pid` and `-pid` lines
 * from its stdin, and when stdin ends — the host closed it, or the host is
 * gone, however it ended — kills every pid still on its list.
 *
 * @module
 */

const pids = new Set<number>();
const decoder = new TextDecoder();
let rest = "";
for await (const chunk of Deno.stdin.readable) {
  const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
  rest = lines.pop() ?? "";
  for (const line of lines) {
    const pid = Number(line.slice(1));
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (line[0] === "+") pids.add(pid);
    else pids.delete(pid);
  }
}
for (const pid of pids) {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}
