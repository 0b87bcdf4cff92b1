/**
 * Where multipool's own modules live, and what a sandboxed worker needs to
 * load them: read access to their directory (`file:`), or access to their
 * host (`http:`, `https:`). Both the Web Worker and the subprocess
 * transports add it to the permissions a pool asks for.
 *
 * @module
 */

/** The directory of multipool's modules (`src/`). */
export const OWN_MODULES: URL = new URL("./", import.meta.url);

/** What loading multipool's own modules needs, in the form a permission list takes. */
export type OwnModuleAccess =
  | { readonly kind: "read"; readonly path: string }
  | { readonly kind: "net"; readonly host: string }
  | { readonly kind: "none" };

/** The access a worker needs to load multipool's own modules. */
export function ownModuleAccess(): OwnModuleAccess {
  if (OWN_MODULES.protocol === "file:") {
    return { kind: "read", path: decodeURIComponent(OWN_MODULES.pathname) };
  }
  if (OWN_MODULES.protocol === "http:" || OWN_MODULES.protocol === "https:") {
    return { kind: "net", host: OWN_MODULES.host };
  }
  return { kind: "none" };
}
