import { describe, expect, it } from 'vitest';
import { PendingPublishes } from '../../libs/integration-bus/src/relay/pending-publishes.js';

/** A publish's settlement, as a promise. */
function waitFor(pending: PendingPublishes<number>, key: number): Promise<'resolved'> {
  return new Promise((resolve, reject) => pending.add(key, () => resolve('resolved'), reject));
}

describe('PendingPublishes: the publishes of a relay session waiting for the broker (one timer for all)', () => {
  it('settles the answered ones, fails every unanswered one once its timeout has passed, and tells the session once per expiry', async () => {
    let timeouts = 0;
    const pending = new PendingPublishes<number>(40, 'no confirm within 40 ms', () => timeouts++);
    const first = waitFor(pending, 1);
    const second = waitFor(pending, 2);
    const third = waitFor(pending, 3);
    pending.take(2)!.resolve();
    await expect(second).resolves.toBe('resolved');
    await expect(first).rejects.toThrow('no confirm within 40 ms');
    await expect(third).rejects.toThrow('no confirm within 40 ms');
    expect(timeouts).toBeGreaterThanOrEqual(1);
    // A late answer finds nothing to settle.
    expect(pending.take(1)).toBeUndefined();
    // Added after the expiry: watched by a new timer.
    const later = waitFor(pending, 4);
    await expect(later).rejects.toThrow('no confirm within 40 ms');
  });

  it('does not fail a publish answered in time when an older one expires, and fails all at once when the session is lost', async () => {
    const pending = new PendingPublishes<number>(60_000, 'timeout');
    const kept = waitFor(pending, 1);
    const lost = waitFor(pending, 2);
    pending.take(1)!.resolve();
    pending.failAll(new Error('closed connection'));
    await expect(kept).resolves.toBe('resolved');
    await expect(lost).rejects.toThrow('closed connection');
    expect(pending.take(2)).toBeUndefined();
  });
});
