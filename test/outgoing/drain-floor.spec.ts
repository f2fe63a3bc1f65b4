import { describe, expect, it } from 'vitest';
import { DrainFloor } from '../../libs/integration-bus/src/delivery/drain-floor.js';

describe('DrainFloor (the drain reads from the head of the queue, above what can no longer appear)', () => {
  it('follows the run when no transaction was open at its reads', () => {
    const floor = new DrainFloor();
    floor.processed('100', '50:50');
    expect(floor.value).toBe('100');
    floor.processed('200', '60:60');
    expect(floor.value).toBe('200');
  });

  it('stays below a point passed while a transaction was open, until a later read saw it end', () => {
    const floor = new DrainFloor();
    floor.processed('100', '40:50'); // xid 40..49 may still commit tasks below 100
    expect(floor.value).toBe('0');
    floor.processed('150', '45:55'); // 45 still open
    expect(floor.value).toBe('0');
    floor.processed('180', '50:60'); // everything below 50 ended: 100 is safe; 150's read had 55
    expect(floor.value).toBe('100');
    floor.processed('220', '60:61'); // 150 and 180 settle; 220 waits for xid 60
    expect(floor.value).toBe('180');
  });

  it('never rises above what the settling read itself was processed up to', () => {
    const floor = new DrainFloor();
    floor.processed('500', '10:20');
    // The read that sees xid 10..19 end returned a full batch ending at 300: tasks 301..500 that
    // committed late may lie beyond it.
    floor.processed('300', '20:21');
    expect(floor.value).toBe('300');
  });

  it('ignores reads without a snapshot', () => {
    const floor = new DrainFloor();
    floor.processed('100', undefined);
    expect(floor.value).toBe('0');
  });
});
