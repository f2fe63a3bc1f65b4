import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where the admin page's browser modules are, compiled from `admin-page/client/*.ts` by
 * `tsconfig.client.json`: beside this file in the package (`dist/management/admin-page/client`),
 * or, when the library runs from its sources (the monorepo's tests), in the build the test setup
 * makes (`tsc -b` builds the client with the library).
 */
const CANDIDATES = [
  new URL('./client/', import.meta.url),
  new URL('../../../dist/management/admin-page/client/', import.meta.url),
];

/** A module name the page may load: letters, digits and dashes, then `.js`. */
const MODULE_NAME = /^[a-z][a-z0-9-]*\.js$/;

let modules: ReadonlyMap<string, string> | undefined;

/**
 * The admin page's compiled modules by file name (`main.js`, `api.js`, …), read once. Only names
 * found in that folder are ever served: a request cannot reach another file.
 * @throws when the modules were not built (run the library's build)
 */
export function adminPageModules(): ReadonlyMap<string, string> {
  modules ??= readModules();
  return modules;
}

function readModules(): ReadonlyMap<string, string> {
  for (const folder of CANDIDATES) {
    let names: string[];
    try {
      names = readdirSync(folder).filter((name) => MODULE_NAME.test(name));
    } catch {
      continue;
    }
    if (!names.includes('main.js')) continue;
    return new Map(names.map((name) => [name, readFileSync(new URL(name, folder), 'utf8')]));
  }
  throw new Error(
    `The admin page's modules are not built (looked in ${CANDIDATES.map((u) => fileURLToPath(u)).join(', ')}): ` +
      'run `npm run build` in libs/integration-bus.',
  );
}
