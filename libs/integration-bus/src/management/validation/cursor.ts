import { RequestValidationError } from './request-input.js';

/**
 * Opaque page cursors: a list's last key, as base64url text a client hands back unchanged. The
 * prefix names the list, so that a cursor of the event log is refused by the task list.
 */
export function encodeCursor(list: 'tasks' | 'events', key: readonly number[]): string {
  return Buffer.from(`${list}:${key.join('.')}`, 'utf8').toString('base64url');
}

/**
 * The key inside a cursor made by `encodeCursor` for the same list, with `parts` whole numbers;
 * anything else is a 400 naming `cursor`.
 */
export function decodeCursor(list: 'tasks' | 'events', cursor: string, parts: number): number[] {
  const text = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = new RegExp(`^${list}:(\\d{1,16}(?:\\.\\d{1,16}){${parts - 1}})$`).exec(text);
  const key = match ? match[1]!.split('.').map(Number) : [];
  if (key.length !== parts || !key.every(Number.isSafeInteger)) {
    throw new RequestValidationError('cursor', 'is not a cursor this list returned; start without one.');
  }
  return key;
}
