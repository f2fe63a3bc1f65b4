import { Injectable } from '@nestjs/common';

/**
 * What became of one broker message a consumer took (R-OPS-2): `accepted` (logged as a task, or
 * acknowledged without one by design: logging switched off, refused by a listener), `duplicate`
 * (its idempotency key had logged a task already), `stale` (a version of the object at least as new
 * was logged before, R-DEL-2), `poison` (it can never become a task: logged and dropped), `retried`
 * (a transient failure: delivered again later).
 */
export type ConsumerIntakeOutcome = 'accepted' | 'duplicate' | 'stale' | 'poison' | 'retried';

/** Every outcome, for metrics that export each from 0. */
export const CONSUMER_INTAKE_OUTCOMES: readonly ConsumerIntakeOutcome[] = [
  'accepted',
  'duplicate',
  'stale',
  'poison',
  'retried',
];

/** A broker consumer as the intake's watchers know it. */
export interface IntakeConsumer {
  /** The consumer's class name, e.g. `ErpOrders`. */
  consumer: string;
  /** The connector its messages become incoming tasks of. */
  connector: string;
}

/** Told of consumers as they start and of each message's outcome (the metrics). */
export interface ConsumerIntakeWatcher {
  started?(consumer: IntakeConsumer): void;
  took(consumer: IntakeConsumer, outcome: ConsumerIntakeOutcome): void;
}

/**
 * Where the broker consumers report what became of each message, and the metrics listen: the
 * consumers sit below the management layer and do not know it. A watcher added after consumers
 * started is told of them at once. A watcher that throws is ignored: counting must never change
 * what happens to a message.
 */
@Injectable()
export class ConsumerIntakeHook {
  #watchers: readonly ConsumerIntakeWatcher[] = [];
  readonly #consumers = new Map<string, IntakeConsumer>();

  /** Adds a watcher, told at once of the consumers already started. */
  watch(watcher: ConsumerIntakeWatcher): void {
    this.#watchers = [...this.#watchers, watcher];
    for (const consumer of this.#consumers.values()) safely(() => watcher.started?.(consumer));
  }

  /** A consumer started. */
  started(consumer: IntakeConsumer): void {
    this.#consumers.set(`${consumer.consumer}\u0000${consumer.connector}`, consumer);
    for (const watcher of this.#watchers) safely(() => watcher.started?.(consumer));
  }

  /** A message's outcome. */
  took(consumer: IntakeConsumer, outcome: ConsumerIntakeOutcome): void {
    for (const watcher of this.#watchers) safely(() => watcher.took(consumer, outcome));
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // A watcher's failure is its own.
  }
}
