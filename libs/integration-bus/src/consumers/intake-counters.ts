import { Injectable } from '@nestjs/common';

/**
 * What became of one broker message (R-OPS-2 "consumer intake"): `accepted` — acknowledged after
 * its task committed (or after the intake logged nothing by design: incoming logging off, the
 * connector returned null, an older version of the object); `duplicate` — its idempotency key had
 * already logged a task, so nothing new was logged; `poison` — it can never become a task and was
 * dropped or dead-lettered.
 */
export type IntakeOutcome = 'accepted' | 'duplicate' | 'poison';

/** The intake counts of one consumer since the application started. */
export interface IntakeCount {
  /** The consumer's class name. */
  consumer: string;
  /** The connector its messages are logged for. */
  connectorName: string;
  accepted: number;
  duplicate: number;
  poison: number;
}

/**
 * Counts what each broker consumer did with its messages (accepted, duplicate, poison), from 0 at
 * start-up: a consumer is listed with zeros as soon as it starts, before its first message, so that
 * a metric built on these counts exists from the start. In memory and per process, like any
 * counter a metrics scrape reads; `snapshot()` is what a metrics exporter reads.
 */
@Injectable()
export class IntakeCounters {
  readonly #counts = new Map<string, IntakeCount>();

  /** Lists a consumer with zero counts (idempotent: counts already made are kept). */
  register(consumer: string, connectorName: string): void {
    if (!this.#counts.has(consumer)) {
      this.#counts.set(consumer, { consumer, connectorName, accepted: 0, duplicate: 0, poison: 0 });
    }
  }

  /** Counts one message of `consumer`. */
  record(consumer: string, connectorName: string, outcome: IntakeOutcome): void {
    this.register(consumer, connectorName);
    this.#counts.get(consumer)![outcome]++;
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
