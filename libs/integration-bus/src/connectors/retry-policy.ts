import { InvalidConnectorError } from '../errors/invalid-connector.error.js';

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
}

/** The retry schedule of one connector, with its options resolved and checked. */
export class RetryPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly jitter: boolean;
  readonly maxAttempts: number | null;

  /**
   * @param options the connector's `retry` option
   * @param where who the options belong to, for error messages (e.g. `@Connector('Crm')`)
   */
  constructor(options: RetryOptions = {}, where = 'retry') {
    const check = (name: keyof RetryOptions, value: number, min: number, integer: boolean): number => {
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
    this.maxAttempts =
      options.maxAttempts === null || options.maxAttempts === undefined
        ? null
        : check('maxAttempts', options.maxAttempts, 1, true);
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

  /** Whether a synchronization with this many failed attempts is parked. */
  parks(failures: number): boolean {
    return this.maxAttempts !== null && failures >= this.maxAttempts;
  }
}
