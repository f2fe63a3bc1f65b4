import { createHash } from 'node:crypto';
import { InvalidExternalTaskError } from '../errors/invalid-external-task.error.js';
import { OBJECT_KEY_HEADER, SEQUENCE_HEADER } from '../relay/relay-message.js';

/** Longest `sequenceKey` accepted, in characters. */
export const SEQUENCE_KEY_MAX_LENGTH = 200;

/** What an intake's sequence check needs: the sequence and the object's key, both checked. */
export interface IntakeSequence {
  sequence: number;
  key: string;
}

/**
 * Checks `processExternalTask`'s `sequence` / `sequenceKey` (R-DEL-2): both or neither, a
 * non-negative safe integer and a string of 1 to 200 characters.
 * @param fields the names the errors give: the options' names, or the request headers' on HTTP
 * @returns null when neither is given
 * @throws InvalidExternalTaskError naming the field at fault
 */
export function checkIntakeSequence(
  sequence: unknown,
  key: unknown,
  fields: { sequence: string; key: string } = { sequence: 'sequence', key: 'sequenceKey' },
): IntakeSequence | null {
  if (sequence === undefined && key === undefined) return null;
  if (sequence === undefined)
    throw new InvalidExternalTaskError(fields.sequence, `is required with ${fields.key}.`);
  if (key === undefined)
    throw new InvalidExternalTaskError(fields.key, `is required with ${fields.sequence}.`);
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
    throw new InvalidExternalTaskError(
      fields.sequence,
      `must be a non-negative integer up to ${Number.MAX_SAFE_INTEGER}; got ${JSON.stringify(sequence)}.`,
    );
  }
  if (typeof key !== 'string') {
    throw new InvalidExternalTaskError(fields.key, `must be a string; got ${typeof key}.`);
  }
  if (key.length === 0 || key.length > SEQUENCE_KEY_MAX_LENGTH) {
    throw new InvalidExternalTaskError(
      fields.key,
      `must be 1 to ${SEQUENCE_KEY_MAX_LENGTH} characters long; got ${key.length}.`,
    );
  }
  return { sequence, key };
}

/**
 * Reads a sequence sent as text (the `Bus-Sequence` header): decimal digits only, no sign, no
 * exponent, up to `Number.MAX_SAFE_INTEGER`.
 * @param field the name the error gives
 * @throws InvalidExternalTaskError naming `field`
 */
export function parseSequenceText(text: string, field: string): number {
  const value = Number(text);
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(value)) {
    throw new InvalidExternalTaskError(
      field,
      `must be a non-negative integer in decimal digits, up to ${Number.MAX_SAFE_INTEGER}; got ${JSON.stringify(text.slice(0, 40))}.`,
    );
  }
  return value;
}

/** The bus's headers that ask for a sequence check, as text (absent: `undefined`). */
export interface SequenceHeaders {
  /** `Bus-Sequence`. */
  sequence: string | undefined;
  /** `Bus-Object-Key`. */
  objectKey: string | undefined;
  /** `Bus-Object-Type`, when the sender names the object's type. */
  objectType: string | undefined;
}

/**
 * The `sequence` / `sequenceKey` options the bus's headers ask for (what its relays send): the
 * `Bus-Sequence` header as a number, and the object's key, `<Bus-Object-Type>:<Bus-Object-Key>` when
 * the type is given (two types' primary keys can be equal), else `Bus-Object-Key` alone. A key
 * longer than 200 characters is replaced by its SHA-256, so that any key the sender uses compares
 * the same way. Either is `undefined` when its header is absent; the caller decides what one alone
 * means.
 * @throws InvalidExternalTaskError naming `Bus-Sequence` when it is not a non-negative integer in
 *   decimal, or `Bus-Object-Key` when it is empty
 */
export function sequenceOfHeaders(headers: SequenceHeaders): { sequence?: number; sequenceKey?: string } {
  const sequence =
    headers.sequence === undefined ? undefined : parseSequenceText(headers.sequence, SEQUENCE_HEADER);
  if (headers.objectKey === undefined) return { sequence };
  if (headers.objectKey === '') throw new InvalidExternalTaskError(OBJECT_KEY_HEADER, 'must not be empty.');
  const key = headers.objectType ? `${headers.objectType}:${headers.objectKey}` : headers.objectKey;
  const sequenceKey =
    key.length <= SEQUENCE_KEY_MAX_LENGTH ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
  return { sequence, sequenceKey };
}
