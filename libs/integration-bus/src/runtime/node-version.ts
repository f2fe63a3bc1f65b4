/** The oldest Node.js the bus runs on: what MikroORM 7 needs. */
export const MINIMUM_NODE_VERSION = '22.17.0';

/**
 * Whether `version` (`process.versions.node`, e.g. `"22.17.0"`) is at least
 * {@link MINIMUM_NODE_VERSION}.
 */
export function isSupportedNodeVersion(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 17);
}

/**
 * Throws an error that names the Node.js requirement when the running Node is too old. Run when
 * the package is imported, so a host on an old Node learns why at start-up rather than from an
 * obscure error later.
 */
export function assertSupportedNodeVersion(version: string = process.versions.node): void {
  if (isSupportedNodeVersion(version)) return;
  throw new Error(
    `nestjs-integration-bus needs Node ≥ 22.17 (MikroORM 7 does); this is Node ${version}. ` +
      'Install Node 22.17 or later (24 LTS recommended) and start the app again.',
  );
}
