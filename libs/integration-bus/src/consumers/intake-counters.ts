import { Injectable } from '@nestjs/common';
import {
  CONSUMER_INTAKE_OUTCOMES,
  ConsumerIntakeHook,
  type ConsumerIntakeOutcome,
  type ConsumerIntakeWatcher,
  type IntakeConsumer,
} from '../events/consumer-intake.js';

/** What became of one broker message (see `ConsumerIntakeOutcome`). */
export type IntakeOutcome = ConsumerIntakeOutcome;

/** The intake counts of one consumer since the application started. */
export type IntakeCount = { consumer: string; connectorName: string } & Record<ConsumerIntakeOutcome, number>;

/**
 * Counts what each broker consumer did with its messages (accepted, duplicate, stale, poison,
 * retried), from 0 at start-up: a consumer is listed with zeros as soon as it starts, before its
 * first message. In memory and per process, like any counter; it watches `ConsumerIntakeHook`, as
 * the metrics do, and `snapshot()` is what an application reads to report them its own way.
 */
@Injectable()
export class IntakeCounters implements ConsumerIntakeWatcher {
  readonly #counts = new Map<string, IntakeCount>();

  constructor(hook: ConsumerIntakeHook) {
    hook.watch(this);
  }

  /** A consumer started: listed with zero counts (counts already made are kept). */
  started({ consumer, connector }: IntakeConsumer): void {
    if (this.#counts.has(consumer)) return;
    const zero = Object.fromEntries(CONSUMER_INTAKE_OUTCOMES.map((outcome) => [outcome, 0]));
    this.#counts.set(consumer, { consumer, connectorName: connector, ...zero } as IntakeCount);
  }

  /** Counts one message of a consumer. */
  took(consumer: IntakeConsumer, outcome: ConsumerIntakeOutcome): void {
    this.started(consumer);
    this.#counts.get(consumer.consumer)![outcome]++;
  }

  /** The counts of one consumer; undefined before it started. */
  of(consumer: string): Readonly<IntakeCount> | undefined {
    const count = this.#counts.get(consumer);
    return count && { ...count };
  }

  /** The counts of every consumer that has started, by consumer name. */
  snapshot(): IntakeCount[] {
    return [...this.#counts.values()]
      .map((count) => ({ ...count }))
      .sort((a, b) => a.consumer.localeCompare(b.consumer));
  }
}
