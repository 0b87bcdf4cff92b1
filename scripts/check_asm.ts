/**
 * `deno task check:asm`: rebuilds every built-in kernel into a temporary
 * directory and fails when the committed `asm/build/*.wasm` bytes differ, so
 * the committed modules always match their AssemblyScript sources.
 *
 * @module
 */

import { buildAsm, kernelBuilds } from "./build_asm.ts";

/**
 * Rebuilds the kernels and returns one message per module whose committed
 * bytes differ from a fresh build (empty when all match).
 *
 * @example
 * ```ts ignore
 * import { staleKernels } from "./check_asm.ts";
 * console.log(await staleKernels()); // []
 * ```
 */
export async function staleKernels(): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "multipool_check_asm_" });
  const stale: string[] = [];
  try {
    for (const [i, kernel] of kernelBuilds().entries()) {
      const fresh = await buildAsm(kernel.source, `${dir}/${i}.wasm`);
      let committed: Uint8Array | undefined;
      try {
        committed = await Deno.readFile(kernel.output);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      const rebuilt = await Deno.readFile(`${dir}/${i}.wasm`);
      if (committed === undefined) {
        stale.push(`${kernel.output.pathname} is missing`);
      } else if (!sameBytes(committed, rebuilt) || !sameBytes(rebuilt, fresh.binary)) {
        stale.push(
          `${kernel.output.pathname} differs from a fresh build of ${kernel.source.pathname} ` +
            `(${committed.length} committed bytes, ${rebuilt.length} rebuilt)`,
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return stale;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

if (import.meta.main) {
  const stale = await staleKernels();
  if (stale.length > 0) {
    for (const line of stale) console.error(line);
    console.error("Committed WASM is out of date: run deno task build:asm and commit asm/build/");
    Deno.exit(1);
  }
  console.log(`asm/build is up to date (${kernelBuilds().length} module(s) rebuilt and compared)`);
}
