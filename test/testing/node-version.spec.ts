import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MINIMUM_NODE_VERSION } from 'nestjs-integration-bus';
import {
  assertSupportedNodeVersion,
  isSupportedNodeVersion,
} from '../../libs/integration-bus/src/runtime/node-version.js';

describe('the Node.js requirement', () => {
  it('accepts Node 22.17 and later, refuses older ones', () => {
    expect(MINIMUM_NODE_VERSION).toBe('22.17.0');
    for (const version of ['22.17.0', '22.18.1', '23.0.0', '24.21.0']) {
      expect(isSupportedNodeVersion(version)).toBe(true);
    }
    for (const version of ['22.16.0', '22.0.0', '20.20.2', '18.19.0']) {
      expect(isSupportedNodeVersion(version)).toBe(false);
    }
  });

  it('fails with an error naming the requirement', () => {
    expect(() => assertSupportedNodeVersion('22.16.0')).toThrow(
      /needs Node ≥ 22\.17 .*this is Node 22\.16\.0/,
    );
    expect(() => assertSupportedNodeVersion(process.versions.node)).not.toThrow();
  });
});

/** The machine's own Node (the project's machines ship Node 20), when it is older than 22.17. */
const oldNode = (() => {
  const candidate = '/usr/bin/node';
  if (!existsSync(candidate)) return null;
  const version = execFileSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  return isSupportedNodeVersion(version) ? null : { path: candidate, version };
})();

describe.skipIf(!oldNode)('on an old Node', () => {
  it('importing the built package stops with the requirement, not an obscure error', () => {
    const run = spawnSync(
      oldNode!.path,
      ['--input-type=module', '-e', "await import('nestjs-integration-bus')"],
      { encoding: 'utf8' },
    );
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      `nestjs-integration-bus needs Node ≥ 22.17 (MikroORM 7 does); this is Node ${oldNode!.version}`,
    );
  });
});
