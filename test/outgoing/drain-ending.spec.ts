import { describe, expect, it } from 'vitest';
import { batchEnding, type BatchFacts } from '../../libs/integration-bus/src/delivery/outgoing-drain.js';

const going: BatchFacts = { short: false, retriedHead: false, handOver: null, enabled: true };

describe('batchEnding: when a batch that could go on ends the run (the drain’s state machine)', () => {
  it('goes on after a full batch, or one cut short by batchMaxDurationMs', () => {
    expect(batchEnding('read', going)).toBe('read');
    expect(batchEnding('cut', going)).toBe('cut');
  });

  it('ends with a short batch (exhausted), but not one cut short, nor one that began at a retried failed head', () => {
    expect(batchEnding('read', { ...going, short: true })).toBe('exhausted');
    expect(batchEnding('cut', { ...going, short: true })).toBe('cut');
    expect(batchEnding('read', { ...going, short: true, retriedHead: true })).toBe('read');
  });

  it('hands a partition over when the scheduler asks (R-ORD-3), before looking at the switch', () => {
    expect(batchEnding('read', { ...going, handOver: 'share' })).toBe('handOver');
    expect(batchEnding('cut', { ...going, handOver: 'turn', enabled: false })).toBe('handOver');
  });

  it('stops when processing was switched off; an exhausted queue is exhausted whatever the switch', () => {
    expect(batchEnding('read', { ...going, enabled: false })).toBe('switchedOff');
    expect(batchEnding('read', { ...going, short: true, enabled: false })).toBe('exhausted');
  });
});
