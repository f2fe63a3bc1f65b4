import { api, query } from './api.js';
import { $, adminOnly, clear, confirmAction, h, iconButton, toast } from './dom.js';
import { describeResults, fail, plural } from './notify.js';
import { PAGE_SIZE, processingOn, state } from './state.js';
import { statusDetails, statusNode } from './status.js';
import { requeueWithCurrentData } from './resync.js';
import { openLog, openTask } from './task-detail.js';
import { timeNode } from './time.js';
import type { Direction, Page, ResultCounts, SynchronizationStatus, TaskListItem } from './types.js';

/** The tab panel of a task list. */
export function panelOf(direction: Direction): HTMLElement {
  return $(`#panel-${direction}`);
}

function keyOf(item: TaskListItem): string {
  return `${item.taskId}:${item.connectorName}`;
}

/** Fills a task list's panel from its template and wires its controls. */
export function setupTaskPanel(direction: Direction): void {
  const panel = panelOf(direction);
  panel.appendChild(document.importNode($<HTMLTemplateElement>('#task-panel').content, true));
  const list = state.lists[direction];
  const reload = (): void => void loadTasks(direction, false).catch(fail);
  $<HTMLSelectElement>('.connector-filter', panel).addEventListener('change', (event) => {
    list.connector = (event.target as HTMLSelectElement).value;
    reload();
  });
  $<HTMLSelectElement>('.status-filter', panel).addEventListener('change', (event) => {
    list.status = (event.target as HTMLSelectElement).value as SynchronizationStatus | '';
    reload();
  });
  const search = $<HTMLInputElement>('.search', panel);
  let typing: number | undefined;
  search.addEventListener('input', () => {
    // Searched on the server, a moment after the last key stroke.
    clearTimeout(typing);
    typing = window.setTimeout(() => {
      list.search = search.value.trim();
      reload();
    }, 250);
  });
  $('.refresh', panel).addEventListener('click', reload);
  $('.load-more', panel).addEventListener('click', () => void loadTasks(direction, true).catch(fail));
  $<HTMLInputElement>('.select-page', panel).addEventListener('change', (event) => {
    const checked = (event.target as HTMLInputElement).checked;
    for (const item of list.items) {
      if (checked) list.selected.set(keyOf(item), item);
      else list.selected.delete(keyOf(item));
    }
    renderTasks(direction);
  });
  $('.bulk-ok', panel).addEventListener('click', () => void runBulk(direction).catch(fail));
}

/** Shows or hides the "processing is switched off" note of a list. */
export function setProcessingNote(direction: Direction): void {
  const note = panelOf(direction).querySelector<HTMLElement>('.processing-off');
  if (!note) return;
  note.hidden = processingOn(direction);
  note.textContent = `Processing of ${direction} tasks is switched off in Settings: Synchronize is unavailable.`;
}

/**
 * Loads the first page of a list (or the next one with `append`). `keepSelection` keeps the
 * selected tasks, for the automatic refresh.
 */
export async function loadTasks(direction: Direction, append: boolean, keepSelection = false): Promise<void> {
  const list = state.lists[direction];
  if (!append) {
    list.cursor = null;
    if (!keepSelection) list.selected.clear();
  }
  const params = {
    direction,
    connectorName: list.connector,
    status: list.status,
    search: list.search,
    // A refresh reloads as many rows as are shown (the API's maximum is 500).
    limit: append ? PAGE_SIZE : Math.min(500, Math.max(PAGE_SIZE, keepSelection ? list.items.length : 0)),
    cursor: append ? (list.cursor ?? undefined) : undefined,
  };
  const page = await api<Page<TaskListItem>>('GET', `/tasks${query(params)}`);
  list.items = append ? list.items.concat(page.items) : page.items;
  list.cursor = page.nextCursor;
  if (keepSelection) {
    const present = new Set(list.items.map(keyOf));
    for (const key of list.selected.keys()) if (!present.has(key)) list.selected.delete(key);
  }
  renderTasks(direction);
}

/** Renders a list's rows from its state. */
export function renderTasks(direction: Direction): void {
  const panel = panelOf(direction);
  const list = state.lists[direction];
  const body = panel.querySelector('tbody');
  if (!body) return;
  clear(body);
  const canSync = processingOn(direction);
  for (const item of list.items) {
    const key = keyOf(item);
    const box = h('input', {
      type: 'checkbox',
      'aria-label': `Select ${item.title} for ${item.connectorName}`,
    });
    box.checked = list.selected.has(key);
    const canRequeue = direction === 'outgoing' && item.status !== 'waiting';
    const row = h(
      'tr',
      {
        className: box.checked ? 'selected' : '',
        'data-task-id': item.taskId,
        'data-connector': item.connectorName,
      },
      [
        h('td', { className: 'check admin-only' }, [box]),
        h('td', { className: 'title-cell' }, [
          h('button', {
            type: 'button',
            className: 'link task-title',
            text: item.title,
            onclick: () => void openTask(item.taskId).catch(fail),
          }),
          h('span', {
            className: 'sub',
            text: item.objectType + (item.siteName ? ` · ${item.siteName}` : ''),
          }),
        ]),
        h('td', { 'data-label': 'Type' }, [h('span', { className: 'badge', text: item.taskType })]),
        h('td', { className: 'nowrap', 'data-label': 'Time' }, [timeNode(item.createdAt)]),
        h('td', { title: item.connectorName, text: item.connectorDisplayName, 'data-label': 'Connector' }),
        h('td', { className: 'result', 'data-label': 'Status' }, [
          statusNode(item, () => void openLog(item).catch(fail)),
          statusDetails(item),
        ]),
        h('td', { className: 'actions' }, [
          iconButton('view', `View task ${item.taskId}`, () => void openTask(item.taskId).catch(fail)),
          adminOnly(
            canRequeue
              ? iconButton(
                  'requeue',
                  `Requeue task ${item.taskId}`,
                  () => void requeueOne(direction, item).catch(fail),
                )
              : null,
          ),
          adminOnly(
            iconButton(
              'sync',
              `Synchronize task ${item.taskId}`,
              () => void synchronizeOne(direction, item).catch(fail),
              !canSync,
              `Processing of ${direction} tasks is switched off`,
            ),
          ),
          adminOnly(
            iconButton(
              'delete',
              `Delete task ${item.taskId}`,
              () => void deleteOne(direction, item).catch(fail),
            ),
          ),
        ]),
      ],
    );
    box.addEventListener('change', () => {
      if (box.checked) list.selected.set(key, item);
      else list.selected.delete(key);
      row.classList.toggle('selected', box.checked);
      updateSelection(direction);
    });
    body.appendChild(row);
  }
  const empty = $('.empty', panel);
  empty.hidden = list.items.length > 0;
  empty.textContent = list.search || list.status ? 'No tasks match.' : 'No tasks are waiting.';
  $('.load-more', panel).hidden = !list.cursor;
  $('.shown-count', panel).textContent = list.items.length
    ? `${list.items.length}${list.cursor ? '+ tasks' : list.items.length === 1 ? ' task' : ' tasks'}`
    : '';
  const action = $<HTMLSelectElement>('.bulk-action', panel);
  $<HTMLOptionElement>('option[value=synchronize]', action).disabled = !canSync;
  if (!canSync && action.value === 'synchronize') action.value = '';
  updateSelection(direction);
}

function updateSelection(direction: Direction): void {
  const panel = panelOf(direction);
  const list = state.lists[direction];
  const count = list.selected.size;
  $('.selection-count', panel).textContent = count ? `${count} selected` : '';
  $<HTMLInputElement>('.select-page', panel).checked =
    list.items.length > 0 &&
    count >= list.items.length &&
    list.items.every((item) => list.selected.has(keyOf(item)));
}

async function synchronizeOne(direction: Direction, item: TaskListItem): Promise<void> {
  const answer = await api<{ results: ResultCounts }>('POST', `/tasks/${item.taskId}/synchronize`, {
    connectorName: item.connectorName,
  });
  toast(`Synchronized "${item.title}": ${describeResults(answer.results)}`);
  await loadTasks(direction, false);
}

async function requeueOne(direction: Direction, item: TaskListItem): Promise<void> {
  const answer = await api<{ requeued: number }>('POST', `/tasks/${item.taskId}/requeue`, {
    connectorName: item.connectorName,
    refresh: requeueWithCurrentData(panelOf(direction)) || undefined,
  });
  toast(answer.requeued ? `Requeued "${item.title}".` : `"${item.title}" was already waiting.`);
  await loadTasks(direction, false);
}

async function deleteOne(direction: Direction, item: TaskListItem): Promise<void> {
  const yes = await confirmAction(
    'Delete task?',
    `"${item.title}" will not be processed by ${item.connectorDisplayName}.`,
  );
  if (!yes) return;
  await api('DELETE', `/tasks/${item.taskId}${query({ connectorName: item.connectorName })}`);
  toast(`Deleted "${item.title}".`);
  await loadTasks(direction, false);
}

type BulkAction = 'synchronize' | 'requeue' | 'delete';

interface BulkRequest {
  direction: Direction;
  connectorName?: string;
  ids?: number[];
  all?: true;
  status?: SynchronizationStatus;
}

async function runBulk(direction: Direction): Promise<void> {
  const panel = panelOf(direction);
  const list = state.lists[direction];
  const scope = $<HTMLSelectElement>('.bulk-scope', panel).value;
  const action = $<HTMLSelectElement>('.bulk-action', panel).value as BulkAction | '';
  if (!action) {
    toast('Choose an action first.', true);
    return;
  }
  const requests: BulkRequest[] = [];
  if (scope === 'all') {
    const everything: BulkRequest = { direction, connectorName: list.connector || undefined, all: true };
    if (action === 'requeue' && list.status) everything.status = list.status;
    requests.push(everything);
  } else {
    const byConnector = new Map<string, number[]>();
    for (const item of list.selected.values()) {
      const ids = byConnector.get(item.connectorName) ?? [];
      ids.push(item.taskId);
      byConnector.set(item.connectorName, ids);
    }
    for (const [connectorName, ids] of byConnector) requests.push({ direction, connectorName, ids });
    if (!requests.length) {
      toast('Select tasks first, or choose "All tasks".', true);
      return;
    }
  }
  const what =
    scope === 'all'
      ? `all ${direction} tasks${list.connector ? ` of ${list.connector}` : ''}`
      : `${list.selected.size} selected task${list.selected.size === 1 ? '' : 's'}`;
  if (
    action === 'delete' &&
    !(await confirmAction(`Delete ${what}?`, 'They will be removed from the queue without being processed.'))
  ) {
    return;
  }
  let deleted = 0;
  let requeued = 0;
  let skipped = 0;
  const results: Record<string, number> = {};
  // One request after the other: bulk synchronization runs in creation order.
  for (const body of requests) {
    const answer = await api<{
      deleted?: number;
      requeued?: number;
      results?: ResultCounts;
      skipped?: number;
    }>('POST', `/tasks/${action}`, body);
    deleted += answer.deleted ?? 0;
    requeued += answer.requeued ?? 0;
    skipped += answer.skipped ?? 0;
    for (const [k, n] of Object.entries(answer.results ?? {})) results[k] = (results[k] ?? 0) + (n ?? 0);
  }
  if (action === 'delete') toast(`Deleted ${plural(deleted, 'task')}.`);
  else if (action === 'requeue') toast(`Requeued ${plural(requeued, 'task')}.`);
  else {
    toast(
      `Synchronized ${what}: ${describeResults(results)}${skipped ? `, ${skipped} left for after an error` : ''}`,
    );
  }
  await loadTasks(direction, false);
}
