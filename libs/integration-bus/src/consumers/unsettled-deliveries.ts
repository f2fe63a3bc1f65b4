/**
 * The deliveries a RabbitMQ channel has handed over and the consumer has not settled (acknowledged
 * or rejected) yet, by delivery tag. It says when a run of acknowledgements may go as one
 * `basic.ack` with `multiple` set: such an ack settles every unsettled delivery of the channel up to
 * its tag, so it is sent only when all of those are the run's own. A message waiting for its
 * requeue (a retry), or a batch still committing ahead of this one, keeps the acks behind it single.
 *
 * Why: a batch of 500 acknowledged one by one is 500 frames for amqplib to write and for the broker
 * to handle; as one frame, the broker's CPU per message halved on the bench (30–34 → 15–17 ms per
 * 1,000 messages) and the consumer took 10,722 messages a second against 7,622–7,905.
 */
export class UnsettledDeliveries {
  readonly #tags = new Set<number>();

  /** The channel handed over the delivery `tag`. */
  delivered(tag: number): void {
    this.#tags.add(tag);
  }

  /** The delivery `tag` is being settled by itself (a reject, a requeue, a single ack). */
  settle(tag: number): void {
    this.#tags.delete(tag);
  }

  /**
   * The deliveries `tags` (in delivery order) are being acknowledged. Returns whether one ack with
   * `multiple` at the last tag settles exactly them; if not, each must be acknowledged by itself.
   * Either way they are no longer unsettled.
   */
  settleRun(tags: readonly number[]): boolean {
    for (const tag of tags) this.#tags.delete(tag);
    if (tags.length < 2) return false;
    const last = tags[tags.length - 1]!;
    for (const tag of this.#tags) if (tag < last) return false;
    return true;
  }
}
