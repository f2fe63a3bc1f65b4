import { InvalidExternalTaskError } from '../errors/invalid-external-task.error.js';

/** Longest idempotency key accepted, in characters (the column is `varchar(200)`). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 200;

/**
 * Checks an idempotency key: a string of 1 to 200 visible ASCII characters (what an HTTP header and
 * a broker message id can carry unchanged, so one key means the same thing on every way in).
 * @param field the name the error gives: `idempotencyKey`, or `Idempotency-Key` for the header
 * @throws InvalidExternalTaskError naming `field`
 */
export function checkIdempotencyKey(value: unknown, field = 'idempotencyKey'): string {
  if (typeof value !== 'string') {
    throw new InvalidExternalTaskError(field, `must be a string; got ${typeof value}.`);
  }
  if (value.length === 0 || value.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
    throw new InvalidExternalTaskError(
      field,
      `must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} characters long; got ${value.length}.`,
    );
  }
  if (!/^[\x21-\x7e]+$/.test(value)) {
    throw new InvalidExternalTaskError(
      field,
      'may hold only visible ASCII characters (no spaces or control characters), such as a UUID.',
    );
  }
  return value;
}
