import { h } from './dom.js';
import { relativeTime } from './time.js';
import type { SynchronizationStatus } from './types.js';

/** One status per synchronization (R-DEL-7), as the API reports it. */
export const STATUS_LABELS: Record<SynchronizationStatus, string> = {
  waiting: 'Waiting',
  failed: 'Failed',
  retrying: 'Retrying',
  skipped: 'Skipped',
  parked: 'Parked',
};

/** What `statusNode` and `statusDetails` read of a synchronization. */
export interface StatusFacts {
  status: SynchronizationStatus;
  errorMessage: string | null;
  nextAttemptAt: string | null;
  attempts: number;
  blockedBy: number | null;
}

/** The status: plain text while waiting, else a button (the sync log) with the message on hover. */
export function statusNode(item: StatusFacts, onclick: (() => void) | null): HTMLElement {
  const label = STATUS_LABELS[item.status] ?? item.status;
  if (item.status === 'waiting') {
    return h('span', {
      className: 'waiting',
      text: item.blockedBy ? `Waiting behind task ${item.blockedBy}` : 'Waiting',
    });
  }
  return h('button', {
    type: 'button',
    className: `link status-${item.status}${item.status === 'failed' ? ' failed' : ''}`,
    title: item.errorMessage || label,
    text: label,
    onclick: onclick ?? undefined,
  });
}

/** The message, next attempt and attempts under a status, or null when there is nothing to say. */
export function statusDetails(item: StatusFacts): HTMLElement | null {
  const parts: string[] = [];
  if (item.errorMessage && item.status !== 'waiting') parts.push(item.errorMessage);
  if (item.nextAttemptAt) parts.push(`next attempt ${relativeTime(item.nextAttemptAt)}`);
  if (item.attempts) parts.push(`${item.attempts} ${item.attempts === 1 ? 'attempt' : 'attempts'}`);
  return parts.length ? h('span', { className: 'sub status-details', text: parts.join(' · ') }) : null;
}
