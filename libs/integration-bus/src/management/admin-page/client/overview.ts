import { api, query } from './api.js';
import { $, clear, h } from './dom.js';
import { sparkline } from './sparkline.js';
import { state } from './state.js';
import { STATUS_LABELS } from './status.js';
import { timeNode } from './time.js';
import type { Direction, SynchronizationStatus } from './types.js';

/** Minutes of throughput the Overview shows. */
const MINUTES = 15;

interface QueueOverview {
  connectorName: string;
  connectorDisplayName: string;
  direction: Direction;
  counts: Record<SynchronizationStatus, number>;
  oldestTaskAgeMs: number | null;
  blockedMs: number | null;
  lastRunAt: string | null;
  throughput: number[];
}

interface Overview {
  generatedAt: string;
  minutes: number;
  throughputRecorded: boolean;
  queues: QueueOverview[];
}

const COLUMNS: readonly SynchronizationStatus[] = ['waiting', 'retrying', 'failed', 'skipped', 'parked'];

/** "45 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const hours = Math.floor(min / 60);
  if (hours < 24) return `${hours} h${min % 60 ? ` ${min % 60} min` : ''}`;
  return `${Math.floor(hours / 24)} d${hours % 24 ? ` ${hours % 24} h` : ''}`;
}

/**
 * Loads and renders the Overview; `openList` shows a task list filtered by connector and status
 * (a count is a link to it).
 */
export async function loadOverview(
  openList: (direction: Direction, connector: string, status: SynchronizationStatus) => void,
): Promise<void> {
  const overview = await api<Overview>('GET', `/overview${query({ minutes: MINUTES })}`);
  const body = clear($('#overview-table tbody'));
  for (const q of overview.queues) {
    const idle = COLUMNS.every((status) => q.counts[status] === 0) && q.throughput.every((n) => n === 0);
    const tasks = q.throughput.reduce((sum, n) => sum + n, 0);
    body.appendChild(
      h(
        'tr',
        {
          className: `${idle ? 'idle' : ''}${q.blockedMs !== null ? ' blocked' : ''}`.trim(),
          'data-connector': q.connectorName,
          'data-direction': q.direction,
        },
        [
          h('td', { className: 'title-cell', title: q.connectorName }, [
            h('strong', { text: q.connectorDisplayName }),
            h('span', { className: 'sub', text: q.direction === 'incoming' ? 'Incoming' : 'Outgoing' }),
          ]),
          ...COLUMNS.map((status) =>
            h(
              'td',
              {
                className: `count count-${status}`,
                'data-status': status,
                'data-label': STATUS_LABELS[status],
              },
              [
                q.counts[status] === 0
                  ? h('span', { className: 'zero', text: '0' })
                  : h('button', {
                      type: 'button',
                      className: 'link',
                      'aria-label': `${q.counts[status]} ${STATUS_LABELS[status].toLowerCase()} ${q.direction} tasks of ${q.connectorDisplayName}`,
                      text: String(q.counts[status]),
                      onclick: () => openList(q.direction, q.connectorName, status),
                    }),
              ],
            ),
          ),
          h('td', { className: 'oldest nowrap', 'data-label': 'Oldest' }, [
            q.oldestTaskAgeMs === null ? '—' : duration(q.oldestTaskAgeMs),
            q.blockedMs === null
              ? null
              : h('span', { className: 'sub blocked-for', text: `blocked for ${duration(q.blockedMs)}` }),
          ]),
          h('td', { className: 'nowrap', 'data-label': 'Last run' }, [timeNode(q.lastRunAt, '—')]),
          h('td', { className: 'throughput', 'data-label': `Last ${overview.minutes} min` }, [
            sparkline(q.throughput, `${tasks} tasks in the last ${overview.minutes} minutes`),
            h('span', { className: 'sub', text: `${tasks} / ${overview.minutes} min` }),
          ]),
        ],
      ),
    );
  }
  $('#panel-overview .empty').hidden = overview.queues.length > 0;
  const note = $('#overview-note');
  note.hidden = overview.throughputRecorded;
  note.textContent = 'Last runs and throughput are counted on this instance from now on.';
  state.overviewAt = overview.generatedAt;
}
