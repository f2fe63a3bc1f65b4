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
