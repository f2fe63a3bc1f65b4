import { reportFailure } from './api.js';
import { toast } from './dom.js';

/** Shows a failed action as an error toast (a 401 already asked for the token). */
export const fail: (error: unknown) => void = reportFailure((message) => toast(message, true));

/** "2 OK, 1 error" for a count per result. */
export function describeResults(results: Partial<Record<string, number>> | undefined): string {
  const names: Record<string, string> = {
    OK: 'OK',
    ERROR: 'error',
    ERRORANDSKIP: 'error and skip',
    SKIPNOW: 'skipped now',
  };
  const parts = Object.keys(names)
    .filter((k) => results?.[k])
    .map((k) => `${results?.[k]} ${names[k]}`);
  return parts.length ? parts.join(', ') : 'nothing to process';
}

/** "1 task", "3 tasks". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
