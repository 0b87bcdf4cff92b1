/**
 * Permissions of a subprocess worker as `deno run` flags: what the pool
 * asks for, intersected with what the host holds (a worker never gets a
 * permission its host lacks), plus what the worker needs to load
 * multipool's own modules. No unstable flag is needed, unlike Web Worker
 * permissions.
 *
 * Deno lets a program query its permissions but not list them, so a
 * permission the host holds only in part (`--allow-read=/data`) passes to
 * a worker as the entries the pool names, each checked against the host;
 * `true` or `"inherit"` of such a permission passes only the main module's
 * directory and the working directory (read and write), when the host has
 * them.
 *
 * @module
 */

import { ownModuleAccess } from "./_own_modules.ts";
import type { WorkerPermissions } from "./_transport.ts";

type Kind = keyof Deno.PermissionOptionsObject;
type Entry = string | URL;

const KINDS: readonly Kind[] = ["read", "write", "net", "env", "run", "ffi", "sys", "import"];

/** The flags of a worker asking for `permissions` (`undefined`: inherit everything). */
export function permissionFlags(permissions: WorkerPermissions | undefined): string[] {
  const asked: Deno.PermissionOptionsObject = permissions === undefined || permissions === "inherit"
    ? Object.fromEntries(KINDS.map((kind) => [kind, "inherit"]))
    : permissions === "none"
    ? {}
    : permissions;
  const granted = new Map<Kind, true | string[]>();
  for (const kind of KINDS) {
    const grant = intersect(kind, asked[kind]);
    if (grant !== undefined) granted.set(kind, grant);
  }
  const own = ownModuleAccess();
  if (own.kind === "read") add(granted, "read", own.path);
  else if (own.kind === "net") {
    add(granted, "import", own.host);
    add(granted, "net", own.host);
  }
  const flags = ["--no-prompt"];
  for (const [kind, grant] of granted) {
    flags.push(
      grant === true ? `--allow-${kind}` : `--allow-${kind}=${grant.map(escape).join(",")}`,
    );
  }
  return flags;
}

/** What of `asked` the host holds: everything (`true`), some entries, or nothing. */
function intersect(
  kind: Kind,
  asked: "inherit" | boolean | Entry[] | undefined,
): true | string[] | undefined {
  if (asked === undefined || asked === false) return undefined;
  if (asked === true || asked === "inherit") {
    if (query({ name: kind } as Deno.PermissionDescriptor)) return true;
    if (kind !== "read" && kind !== "write") return undefined;
    return nonEmpty(homes().filter((path) => holds(kind, path)));
  }
  return nonEmpty(asked.map(entryText).filter((entry) => holds(kind, entry)));
}

/** Whether the host holds `kind` for one entry. */
function holds(kind: Kind, entry: string): boolean {
  switch (kind) {
    case "read":
    case "write":
    case "ffi":
      return query({ name: kind, path: entry });
    case "net":
    case "import":
      return query({ name: kind, host: entry } as Deno.PermissionDescriptor);
    case "env":
      return query({ name: "env", variable: entry });
    case "run":
      return query({ name: "run", command: entry });
    case "sys":
      return query({ name: "sys", kind: entry as Deno.SysPermissionDescriptor["kind"] });
  }
}

function query(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false; // an entry Deno cannot parse is not granted
  }
}

/** The directories a partial read or write grant most likely covers. */
function homes(): string[] {
  const paths: string[] = [];
  const main = new URL(".", Deno.mainModule);
  if (main.protocol === "file:") paths.push(decodeURIComponent(main.pathname));
  try {
    paths.push(Deno.cwd());
  } catch {
    // no read access to the working directory
  }
  return paths;
}

function add(granted: Map<Kind, true | string[]>, kind: Kind, entry: string): void {
  const current = granted.get(kind);
  if (current === true) return;
  granted.set(kind, [...(current ?? []), entry]);
}

function entryText(entry: Entry): string {
  return entry instanceof URL ? decodeURIComponent(entry.pathname) : entry;
}

function nonEmpty(entries: string[]): string[] | undefined {
  return entries.length > 0 ? entries : undefined;
}

/** Deno's flag lists are comma-separated; a comma in an entry is written twice. */
function escape(entry: string): string {
  return entry.replaceAll(",", ",,");
}
