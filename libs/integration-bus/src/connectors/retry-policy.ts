import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { InvalidConnectorError } from '../errors/invalid-connector.error.js';

/**
 * How a task the connector answered SkipNow is offered again (R-EXT-4). SkipNow is "not now", not a
 * failure: it never counts towards `maxAttempts`, and by default it is retried on the backoff for
 * ever, as the original bus did.
 */
export interface SkipNowRetryOptions {
  /**
   * Wait before a skipped task is offered again, in milliseconds, the same after every skip.
   * `null` uses the connector's backoff (`initialDelayMs` × `multiplier`^n, up to `maxDelayMs`).
   * @default null
   */
  delayMs?: number | null;
  /**
   * SkipNow answers in a row after which the task is parked (kept with its log, no longer offered
   * until requeued), like a task that failed `maxAttempts` times. `null` offers it for ever.
   * @default null
   */
  maxAttempts?: number | null;
}

/** An attempt's answer, as the parking rule reads it. */
export interface AttemptAnswer {
  result: IntegrationProcessResult;
  /** Set when the external system said when to come back (R-EXT-2). */
  retryAfterMs?: number;
}

/** What a task's synchronization has been through so far, as its parking rule counts it. */
export interface AttemptCounts {
  /** Failed attempts (Error, ErrorAndSkip, a throw, a timeout) since it was last requeued. */
  failures: number;
  /** SkipNow answers since it was last requeued. */
  skips: number;
}

/** How a connector's failed or postponed tasks are tried again (R-DEL-5, R-DEL-6). */
export interface RetryOptions {
  /** Wait before the second attempt, in milliseconds. @default 1000 */
  initialDelayMs?: number;
  /** Longest wait between two attempts, in milliseconds. @default 300000 (5 minutes) */
  maxDelayMs?: number;
  /** Factor applied to the wait after each attempt. @default 2 */
  multiplier?: number;
  /**
   * Spread each wait randomly over its upper half (between 50% and 100% of the computed delay), so
   * that connectors failing together do not retry together. @default true
   */
  jitter?: boolean;
  /**
   * Failed attempts (Error, ErrorAndSkip, a throw, a timeout; not SkipNow) after which a task is
   * parked: kept with its log, no longer retried automatically, no longer blocking the tasks behind
   * it, until requeued. `null` retries for ever, as the original bus did. @default null
   */
  maxAttempts?: number | null;
  /** How a task answered with SkipNow is offered again, and when it is parked (R-EXT-4). */
  skipNow?: SkipNowRetryOptions;
}

/** The retry schedule of one connector, with its options resolved and checked. */
export class RetryPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly jitter: boolean;
  readonly maxAttempts: number | null;
  /** The fixed wait after a SkipNow, or null for the backoff. */
  readonly skipDelayMs: number | null;
  /** SkipNow answers after which a task is parked, or null. */
  readonly maxSkips: number | null;

  /**
   * @param options the connector's `retry` option
   * @param where who the options belong to, for error messages (e.g. `@Connector('Crm')`)
   */
  constructor(options: RetryOptions = {}, where = 'retry') {
    const check = (name: string, value: number, min: number, integer: boolean): number => {
      if (
        typeof value !== 'number' ||
        !Number.isFinite(value) ||
        value < min ||
        (integer && !Number.isInteger(value))
      ) {
        throw new InvalidConnectorError(
          `${where}: retry.${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${JSON.stringify(value)}.`,
        );
      }
      return value;
    };
    this.initialDelayMs = check('initialDelayMs', options.initialDelayMs ?? 1000, 0, true);
    this.maxDelayMs = check('maxDelayMs', options.maxDelayMs ?? 300_000, 0, true);
    this.multiplier = check('multiplier', options.multiplier ?? 2, 1, false);
    if (this.maxDelayMs < this.initialDelayMs) {
      throw new InvalidConnectorError(
        `${where}: retry.maxDelayMs (${this.maxDelayMs}) is below retry.initialDelayMs (${this.initialDelayMs}).`,
      );
    }
    const jitter = options.jitter ?? true;
    if (typeof jitter !== 'boolean') {
      throw new InvalidConnectorError(
        `${where}: retry.jitter must be a boolean, got ${JSON.stringify(jitter)}.`,
      );
    }
    this.jitter = jitter;
    const optional = (name: string, value: number | null | undefined, min: number): number | null =>
      value === null || value === undefined ? null : check(name, value, min, true);
    this.maxAttempts = optional('maxAttempts', options.maxAttempts, 1);
    const skipNow = options.skipNow ?? {};
    if (typeof skipNow !== 'object') {
      throw new InvalidConnectorError(
        `${where}: retry.skipNow must be an object { delayMs?, maxAttempts? }, got ${JSON.stringify(skipNow)}.`,
      );
    }
    this.skipDelayMs = optional('skipNow.delayMs', skipNow.delayMs, 0);
    this.maxSkips = optional('skipNow.maxAttempts', skipNow.maxAttempts, 1);
  }

  /**
   * The wait before the next attempt, after `attempts` attempts in all:
   * `min(maxDelayMs, initialDelayMs × multiplier^(attempts − 1))`, over its upper half with jitter.
   */
  delayAfter(attempts: number): number {
    const exponent = Math.max(0, attempts - 1);
    // Capped before the power can overflow: 2^1100 is Infinity, and Infinity × 0 would be NaN.
    const raw = Math.min(this.maxDelayMs, this.initialDelayMs * this.multiplier ** Math.min(exponent, 1000));
    const delay = this.jitter ? raw / 2 + Math.random() * (raw / 2) : raw;
    return Math.round(delay);
  }

  /**
   * The wait before a task is offered again after an attempt that did not succeed, `attempts` attempts
   * in all: what the external system said (`retryAfterMs`, R-EXT-2), else SkipNow's own delay when it
   * has one (R-EXT-4), else the backoff.
   */
  delayAfterAttempt(answer: AttemptAnswer, attempts: number): number {
    if (answer.retryAfterMs !== undefined) return answer.retryAfterMs;
    if (answer.result === IntegrationProcessResult.SkipNow && this.skipDelayMs !== null)
      return this.skipDelayMs;
    return this.delayAfter(attempts);
  }

  /**
   * Whether the attempt that just answered parks the task (R-DEL-6, R-EXT-4): a failure once the
   * failures reach `maxAttempts`, a SkipNow once the skips reach `skipNow.maxAttempts`. `before`
   * counts the attempts before this one. OK never parks, nor does an answer with `retryAfterMs`
   * (R-EXT-2): the external system's quota is not the task's fault, and a 429 storm must not park.
   */
  parksAfter(answer: AttemptAnswer, before: AttemptCounts): boolean {
    if (answer.result === IntegrationProcessResult.OK || answer.retryAfterMs !== undefined) return false;
    if (answer.result === IntegrationProcessResult.SkipNow) {
      return this.maxSkips !== null && before.skips + 1 >= this.maxSkips;
    }
    return this.maxAttempts !== null && before.failures + 1 >= this.maxAttempts;
  }

  /** Whether the answer counts towards `maxAttempts`: a failure the external system did not pace. */
  countsAsFailure(answer: AttemptAnswer): boolean {
    return (
      answer.result !== IntegrationProcessResult.OK &&
      answer.result !== IntegrationProcessResult.SkipNow &&
      answer.retryAfterMs === undefined
    );
  }
}
