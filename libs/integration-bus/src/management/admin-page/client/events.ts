import { api, query } from './api.js';
import { $, clear, h } from './dom.js';
import { fail } from './notify.js';
import { PAGE_SIZE, state } from './state.js';
import { openTask } from './task-detail.js';
import { timeNode } from './time.js';
import type { EventLogEntry, Page } from './types.js';

/** Loads the event log, newest first (the next page with `append`). */
export async function loadEvents(append: boolean): Promise<void> {
  const events = state.events;
  const page = await api<Page<EventLogEntry>>(
    'GET',
    `/event-log${query({ limit: PAGE_SIZE, cursor: append ? (events.cursor ?? undefined) : undefined })}`,
  );
  events.items = append ? events.items.concat(page.items) : page.items;
  events.cursor = page.nextCursor;
  const body = clear($('#events-table tbody'));
  for (const e of events.items) {
    body.appendChild(
      h('tr', {}, [
        h('td', { className: 'nowrap' }, [timeNode(e.time)]),
        h('td', {}, [h('span', { className: `badge level ${e.level}`, text: e.level })]),
        h('td', { text: e.source }),
        h('td', {}, [h('code', { text: e.eventCode })]),
        h('td', { text: e.connectorName || '' }),
        h('td', {}, [taskLink(e.taskId)]),
        h('td', { className: 'message', text: e.message }),
      ]),
    );
  }
  $('#panel-events .empty').hidden = events.items.length > 0;
  $('#events-more').hidden = !events.cursor;
}

/** The entry's task, as a link to its detail (a deleted task says so when opened). */
function taskLink(taskId: number | null): HTMLElement | null {
  if (taskId === null) return null;
  return h('button', {
    type: 'button',
    className: 'link event-task',
    'aria-label': `Open task ${taskId}`,
    text: String(taskId),
    onclick: () => void openTask(taskId).catch(fail),
  });
}
