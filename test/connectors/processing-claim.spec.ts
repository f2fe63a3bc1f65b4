import { describe, expect, it } from 'vitest';
import { ProcessingClaim } from '../../libs/integration-bus/src/delivery/processing-claim.js';

const token = { direction: 'outgoing' as const, connectorId: 1, partition: 0, owner: 'me', epoch: '1' };

describe('ProcessingClaim (the local half of fencing, R-DEL-2)', () => {
  it('holds until its validity passes, then stays lost and aborts its signal', () => {
    const now = performance.now();
    expect(new ProcessingClaim(token, '2026-12-01T00:00:00Z', now + 60_000).held()).toBe(true);
    const expired = new ProcessingClaim(token, '2026-12-01T00:00:00Z', now - 1);
    expect(expired.held()).toBe(false);
    expect(expired.signal.aborted).toBe(true);
    expired.extend(performance.now() - 2, performance.now() + 60_000);
    expect(expired.held()).toBe(false);
  });

  it('is extended by a renewal sent while it was valid', () => {
    const now = performance.now();
    const claim = new ProcessingClaim(token, '2026-12-01T00:00:00Z', now + 50);
    claim.extend(now, now + 60_000);
    const until = performance.now() + 100;
    while (performance.now() < until);
    expect(claim.held()).toBe(true);
  });

  it('is not revived by a renewal sent after its validity passed, even before anyone asked held()', () => {
    // A paused process wakes: its renewal timer fires late and the database still accepts the
    // renewal (nobody claimed meanwhile), but the run must stop, not go on as if it had not paused.
    const now = performance.now();
    const claim = new ProcessingClaim(token, '2026-12-01T00:00:00Z', now + 10);
    const until = now + 30;
    while (performance.now() < until);
    const sentAt = performance.now();
    claim.extend(sentAt, sentAt + 60_000);
    expect(claim.held()).toBe(false);
    expect(claim.lostReason).toContain('paused');
  });

  it('aborts its signal when its validity passes, without anyone asking held() (a call in flight learns it)', async () => {
    const claim = new ProcessingClaim(token, '2026-12-01T00:00:00Z', performance.now() + 40);
    const aborted = new Promise<string>((resolve) =>
      claim.signal.addEventListener('abort', () => resolve(String((claim.signal.reason as Error).message))),
    );
    expect(claim.signal.aborted).toBe(false);
    expect(await aborted).toContain('paused');
  });

  it('moves its abort along when a renewal extends it', async () => {
    const now = performance.now();
    const claim = new ProcessingClaim(token, '2026-12-01T00:00:00Z', now + 30);
    claim.extend(now, now + 200);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(claim.signal.aborted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(claim.signal.aborted).toBe(true);
  });
});
