import { api } from './api.js';
import { $, clear, h, type Child } from './dom.js';
import { timeNode } from './time.js';
import type { RetentionRemoved, RetentionStatus } from './types.js';

const REMOVED_NAMES: Record<keyof RetentionRemoved, string> = {
  syncLog: 'sync-log entries',
  eventLog: 'event-log entries',
  idempotencyKeys: 'idempotency keys',
  parkedSynchronizations: 'parked synchronizations',
  parkedTasks: 'parked tasks',
  intakeSequences: 'intake sequences',
};

const OUTCOMES: Record<NonNullable<RetentionStatus['lastPass']>['outcome'], string> = {
  done: 'finished',
  more: 'had its share; the next pass goes on',
  skipped: 'skipped: another instance was pruning',
  failed: 'failed',
};

function days(value: number | null, forEver: string): string {
  if (value === null) return forEver;
  return `${value} day${value === 1 ? '' : 's'}`;
}

function duration(ms: number): string {
  const hours = ms / 3_600_000;
  if (hours >= 24 && hours % 24 === 0) return days(hours / 24, '');
  if (hours >= 1 && Number.isInteger(hours)) return `${hours} hour${hours === 1 ? '' : 's'}`;
  return `${Math.round(ms / 60_000)} min`;
}

/** One fact of the card: what is kept, and the oldest row still there. */
function fact(name: string, kept: string, oldest?: string | null): HTMLElement {
  const children: Child[] = [h('span', { text: kept })];
  if (oldest !== undefined) {
    children.push(h('span', { className: 'sub' }, ['oldest kept: ', oldest ? timeNode(oldest) : 'none']));
  }
  return h('div', { className: 'retention-fact' }, [h('dt', { text: name }), h('dd', {}, children)]);
}

/** The Settings tab's Retention card (R-OPS-1): what is kept, and this instance's last pass. */
export async function loadRetention(): Promise<void> {
  const status = await api<RetentionStatus>('GET', '/retention');
  const s = status.settings;
  const eventLog = [
    s.eventLogDays === null ? 'kept for ever' : days(s.eventLogDays, ''),
    s.eventLogMaxRows === null ? null : `at most ${s.eventLogMaxRows.toLocaleString()} entries`,
  ]
    .filter((part) => part !== null)
    .join(', ');
  clear($('#retention-facts')).append(
    fact('Sync log', days(s.syncLogDays, 'kept for ever'), status.oldest.syncLog),
    fact('Event log', eventLog, status.oldest.eventLog),
    fact(
      'Parked tasks',
      s.parkedDays === null
        ? 'kept until requeued or deleted'
        : `${days(s.parkedDays, '')} after their last attempt`,
      status.oldest.parked,
    ),
    fact('Idempotency keys', duration(s.idempotencyWindowMs), status.oldest.idempotencyKey),
    fact('Intake sequences', days(s.intakeSequenceDays, 'kept for ever')),
  );
  const last = status.lastPass;
  const line: (Node | string)[] = [];
  if (last === null) {
    line.push('No pass on this instance yet.');
  } else {
    const removed = (Object.keys(REMOVED_NAMES) as (keyof RetentionRemoved)[])
      .filter((kind) => last.removed[kind] > 0)
      .map((kind) => `${last.removed[kind].toLocaleString()} ${REMOVED_NAMES[kind]}`);
    line.push(
      'Last pass on this instance ',
      timeNode(last.finishedAt),
      `: ${OUTCOMES[last.outcome]}${last.error ? ` (${last.error})` : ''}; removed ${removed.length ? removed.join(', ') : 'nothing'}.`,
    );
  }
  // The relative time ends with its own period ("in 4 min.").
  if (status.nextPassAt) line.push(' Next pass: ', timeNode(status.nextPassAt));
  clear($('#retention-last')).append(...line);
}
