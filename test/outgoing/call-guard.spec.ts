import { describe, expect, it } from 'vitest';
import { CallInterrupted, guardCall } from '../../libs/integration-bus/src/delivery/call-guard.js';

describe('guardCall', () => {
  it('handles the rejection of a call interrupted before it was awaited (no unhandled rejection)', async () => {
    // As when a handler's fence throws once the claim is already lost: the claim's signal is aborted
    // by the time the call's answer is guarded. Vitest fails the file on an unhandled rejection.
    const lost = new AbortController();
    lost.abort(new Error('claim lost'));
    const given: string[] = [];
    const guarded = guardCall(Promise.reject(new Error('fence refused')), 1000, [lost.signal], (reason) =>
      given.push(reason),
    );
    await expect(guarded).rejects.toBeInstanceOf(CallInterrupted);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(given).toEqual(['claim lost']);
  });
});
