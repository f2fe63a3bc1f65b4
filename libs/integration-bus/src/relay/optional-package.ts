import { MissingPeerDependencyError } from '../errors/missing-peer-dependency.error.js';

/**
 * Imports an optional peer dependency when it is first needed, so that a host using no broker
 * installs no broker client. A missing package is a `MissingPeerDependencyError` naming it; any
 * other failure (a broken install) is passed on as it is.
 */
export async function importOptionalPackage<T>(packageName: string, usedBy: string): Promise<T> {
  try {
    return (await import(packageName)) as T;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new MissingPeerDependencyError(packageName, usedBy, { cause: error });
    }
    throw error;
  }
}
