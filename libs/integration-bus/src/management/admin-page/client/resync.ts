/**
 * Resync on the admin page (R-RES-1, R-RES-3): the Resync action of a connector (a dialog asking
 * for the object type, an optional `where` filter and the chunk size), the Resyncs card of the
 * Connectors tab (a progress bar per resync with rows done of total, rate and ETA, refreshed every
 * second while one runs, and a Cancel action), and the "Requeue with current data" switch of the
 * outgoing tasks.
 */
import { api } from './api.js';
import { $, clear, confirmAction, h, iconButton, toast } from './dom.js';
import { fail } from './notify.js';
import { timeNode } from './time.js';
import type { Connector } from './types.js';

/** A resync as `GET /resyncs` answers it. */
interface ResyncProgress {
  id: number;
  connectorName: string;
  objectType: string;
  where: Record<string, unknown> | null;
  chunkSize: number;
  status: 'running' | 'done' | 'cancelled' | 'failed';
  done: number;
  total: number;
  percent: number;
  chunks: number;
  ratePerSecond: number | null;
  etaSeconds: number | null;
  errorMessage: string | null;
  runningOn: string | null;
  startedAt: string;
  finishedAt: string | null;
}

/** How often the card reads the resyncs while the Connectors tab shows: every second while one runs. */
const RUNNING_REFRESH_MS = 1000;
const IDLE_REFRESH_MS = 10_000;

let resyncs: ResyncProgress[] = [];
let loadedAt = 0;
let loading = false;
let resyncing: Connector | null = null;

/** The Resync action of a connector's row. */
export function resyncButton(connector: Connector): HTMLButtonElement {
  return iconButton(
    'resync',
    `Resync ${connector.codeName}`,
    () => openResyncDialog(connector),
    !connector.loaded || !connector.enabled,
    connector.loaded ? 'Enable the connector to resync it' : 'Only a loaded connector can be resynced',
  );
}

/** Adds the Resyncs card to the Connectors tab and the Resync dialog to the page; refreshes the card. */
export function setupResync(): void {
  $('#panel-connectors').appendChild(
    h('div', { className: 'card resyncs', id: 'resyncs' }, [
      h('div', { className: 'card-head' }, [
        h('h2', { text: 'Resyncs' }),
        h('p', {
          className: 'hint',
          text: 'Every existing row of an object type sent to one connector, in chunks, in commit order with live changes.',
        }),
      ]),
      h('div', { className: 'table-wrap' }, [
        h('table', { className: 'grid', id: 'resyncs-table' }, [
          h('thead', {}, [
            h(
              'tr',
              {},
              ['Connector', 'Object type', 'Status', 'Progress', 'Rate', 'ETA', 'Started', ''].map((title) =>
                h('th', { text: title }),
              ),
            ),
          ]),
          h('tbody'),
        ]),
      ]),
      h('p', { className: 'empty', text: 'No resync yet: start one with the Resync action of a connector.' }),
    ]),
  );
  document.body.appendChild(resyncDialog());
  setInterval(() => {
    const due = resyncs.some((r) => r.status === 'running') ? RUNNING_REFRESH_MS : IDLE_REFRESH_MS;
    if (visible() && !loading && Date.now() - loadedAt >= due) void loadResyncs().catch(fail);
  }, 250);
}

function visible(): boolean {
  return !$('#main').hidden && !$('#panel-connectors').hidden && !document.hidden;
}

/** Reads the resyncs and shows them. */
export async function loadResyncs(): Promise<void> {
  loading = true;
  try {
    resyncs = (await api<{ items: ResyncProgress[] }>('GET', '/resyncs')).items;
    loadedAt = Date.now();
    renderResyncs();
  } finally {
    loading = false;
  }
}

function renderResyncs(): void {
  const body = clear($('#resyncs-table tbody'));
  for (const r of resyncs) {
    const bar = h('progress', {
      max: 100,
      value: r.percent,
      'aria-label': `Resync of ${r.objectType} for ${r.connectorName}`,
    });
    const status = h('span', {
      className: `badge resync-${r.status}`,
      text: r.status,
      title: r.errorMessage ?? undefined,
    });
    body.appendChild(
      h('tr', { 'data-resync': r.id, 'data-status': r.status }, [
        h('td', { text: r.connectorName }),
        h('td', {}, [
          h('code', { text: r.objectType }),
          r.where ? h('span', { className: 'sub', text: JSON.stringify(r.where) }) : null,
        ]),
        h('td', {}, [status]),
        h('td', { className: 'resync-progress' }, [
          bar,
          h('span', {
            className: 'sub',
            text: `${r.done.toLocaleString('en')} of ${r.total.toLocaleString('en')} rows (${r.percent}%)`,
          }),
        ]),
        h('td', {
          className: 'nowrap',
          text: r.ratePerSecond === null ? '' : `${r.ratePerSecond.toLocaleString('en')} rows/s`,
        }),
        h('td', { className: 'nowrap', text: r.etaSeconds === null ? '' : duration(r.etaSeconds) }),
        h('td', { className: 'nowrap' }, [timeNode(r.startedAt)]),
        h('td', { className: 'actions' }, [
          r.status === 'running'
            ? h('button', {
                type: 'button',
                className: 'button',
                text: 'Cancel',
                'aria-label': `Cancel the resync of ${r.objectType} for ${r.connectorName}`,
                onclick: () => void cancelResync(r).catch(fail),
              })
            : null,
        ]),
      ]),
    );
  }
  $('#resyncs .empty').hidden = resyncs.length > 0;
}

/** `95 s`, `4 min 10 s`, `2 h 5 min`. */
function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

async function cancelResync(r: ResyncProgress): Promise<void> {
  const yes = await confirmAction(
    `Cancel the resync of ${r.objectType}?`,
    `The chunk under way is rolled back; the ${r.done.toLocaleString('en')} rows already sent to ${r.connectorName} stay queued.`,
    'Cancel resync',
  );
  if (!yes) return;
  await api('POST', `/connectors/${encodeURIComponent(r.connectorName)}/resync/cancel`, {
    objectType: r.objectType,
  });
  toast(`Cancelled the resync of ${r.objectType} for ${r.connectorName}.`);
  await loadResyncs();
}

function resyncDialog(): HTMLDialogElement {
  const form = h('form', { id: 'resync-form', className: 'dialog-body' }, [
    h('h2', { id: 'resync-dialog-title', text: 'Resync' }),
    h('p', {
      className: 'muted',
      text: 'Sends every existing row of the object type to this connector only, as updates, in chunks. A row changed meanwhile still reaches it in commit order.',
    }),
    h('label', { className: 'field' }, [
      'Object type',
      h('input', {
        type: 'text',
        name: 'objectType',
        maxlength: 200,
        required: true,
        placeholder: 'cms.user',
      }),
    ]),
    h('label', { className: 'field' }, [
      'Only the rows matching (optional, a MikroORM filter as JSON)',
      h('textarea', { name: 'where', rows: 3, placeholder: '{ "site": { "name": "main" } }' }),
    ]),
    h('label', { className: 'field' }, [
      'Rows per chunk',
      h('input', { type: 'number', name: 'chunkSize', min: 1, max: 10000, value: 1000 }),
    ]),
    h('p', { className: 'form-error', id: 'resync-error', role: 'alert', hidden: true }),
    h('div', { className: 'dialog-actions' }, [
      h('button', { type: 'button', className: 'button close', text: 'Cancel' }),
      h('button', { type: 'submit', className: 'button primary', text: 'Start resync' }),
    ]),
  ]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void startResync().catch((error: unknown) =>
      showError(error instanceof Error ? error.message : String(error)),
    );
  });
  const dialog = h(
    'dialog',
    { id: 'resync-dialog', className: 'dialog narrow', 'aria-labelledby': 'resync-dialog-title' },
    [form],
  );
  $('.close', dialog).addEventListener('click', () => dialog.close());
  return dialog;
}

interface ResyncFormElements extends HTMLFormControlsCollection {
  objectType: HTMLInputElement;
  where: HTMLTextAreaElement;
  chunkSize: HTMLInputElement;
}

function openResyncDialog(connector: Connector): void {
  resyncing = connector;
  const form = $<HTMLFormElement>('#resync-form');
  form.reset();
  $('#resync-dialog-title').textContent = `Resync ${connector.displayName}`;
  $('#resync-error').hidden = true;
  $<HTMLDialogElement>('#resync-dialog').showModal();
}

function showError(message: string): void {
  const box = $('#resync-error');
  box.hidden = false;
  box.textContent = message;
}

async function startResync(): Promise<void> {
  const connector = resyncing;
  if (!connector) return;
  const fields = $<HTMLFormElement>('#resync-form').elements as ResyncFormElements;
  let where: unknown;
  const text = fields.where.value.trim();
  if (text) {
    try {
      where = JSON.parse(text);
    } catch {
      showError('The filter is not valid JSON.');
      return;
    }
  }
  const started = await api<ResyncProgress>(
    'POST',
    `/connectors/${encodeURIComponent(connector.codeName)}/resync`,
    {
      objectType: fields.objectType.value.trim(),
      where,
      chunkSize: fields.chunkSize.value ? Number(fields.chunkSize.value) : undefined,
    },
  );
  $<HTMLDialogElement>('#resync-dialog').close();
  toast(
    `Resync of ${started.objectType} for ${connector.displayName} started: ${started.total.toLocaleString('en')} rows.`,
  );
  await loadResyncs();
}

/**
 * Adds the "Requeue with current data" switch to the outgoing tasks' toolbar (R-RES-3): while it is
 * on, the Requeue action of a task sends the object as it is now instead of its stored snapshot.
 */
export function setupRequeueRefresh(panel: HTMLElement): void {
  const toolbar = $('.toolbar', panel);
  toolbar.insertBefore(
    h(
      'label',
      {
        className: 'field-inline requeue-refresh',
        title:
          "Requeue sends a SimpleSnapshot or Snapshot task with the object's current state instead of its stored snapshot",
      },
      [h('input', { type: 'checkbox', className: 'requeue-refresh-toggle' }), 'Requeue with current data'],
    ),
    $('.spacer', toolbar),
  );
}

/** Whether the outgoing tasks' Requeue action asks for the object's current state. */
export function requeueWithCurrentData(panel: HTMLElement): boolean {
  return panel.querySelector<HTMLInputElement>('.requeue-refresh-toggle')?.checked ?? false;
}
