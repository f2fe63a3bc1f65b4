import { describe, expect, it } from 'vitest';
import { UnsettledDeliveries } from '../../libs/integration-bus/src/consumers/unsettled-deliveries.js';

/** A channel's tracker with deliveries `from`…`to` handed over. */
function deliveredRange(from: number, to: number): UnsettledDeliveries {
  const unsettled = new UnsettledDeliveries();
  for (let tag = from; tag <= to; tag++) unsettled.delivered(tag);
  return unsettled;
}

describe('RabbitMQ acknowledgements in one frame (R-ECO-2: each message acknowledged once its task committed)', () => {
  it('a run of acks goes as one multiple ack when nothing else below its last tag is unsettled', () => {
    const unsettled = deliveredRange(1, 10);
    expect(unsettled.settleRun([1, 2, 3, 4, 5])).toBe(true);
    // The next batch's run: everything below it was settled.
    expect(unsettled.settleRun([6, 7, 8, 9, 10])).toBe(true);
  });

  it('a message waiting for its requeue, or an earlier batch still committing, keeps the acks after it single', () => {
    const unsettled = deliveredRange(1, 10);
    // Tag 3 is retried: requeued later, unsettled meanwhile.
    expect(unsettled.settleRun([1, 2])).toBe(true);
    expect(unsettled.settleRun([4, 5])).toBe(false);
    unsettled.settle(3);
    expect(unsettled.settleRun([6, 7])).toBe(true);

    const ahead = deliveredRange(1, 6);
    // The batch of tags 4–6 settles before the batch of 1–3 (still committing).
    expect(ahead.settleRun([4, 5, 6])).toBe(false);
    expect(ahead.settleRun([1, 2, 3])).toBe(true);
  });

  it('a rejected message settled by itself lets the acks after it go as one; a lone ack stays single', () => {
    const unsettled = deliveredRange(1, 6);
    expect(unsettled.settleRun([1, 2])).toBe(true);
    unsettled.settle(3); // a poison message, rejected to the dead-letter exchange
    expect(unsettled.settleRun([4, 5])).toBe(true);
    expect(unsettled.settleRun([6])).toBe(false);
  });
});
