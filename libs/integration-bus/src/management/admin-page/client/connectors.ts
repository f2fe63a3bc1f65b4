import { api } from './api.js';
import { $, adminOnly, clear, confirmAction, h, iconButton, toast } from './dom.js';
import { fail } from './notify.js';
import { canChange, state } from './state.js';
import { panelOf } from './tasks.js';
import type { Connector } from './types.js';
import { deliveryPace } from './delivery-pace.js';
import { orderingText, showPartitions } from './partitions.js';
import { resyncButton } from './resync.js';

/** Reads the connectors: their tab and the lists' connector filters. */
export async function loadConnectors(): Promise<void> {
  const connectors = await api<Connector[]>('GET', '/connectors');
  state.connectors = connectors;
  renderConnectors();
  for (const direction of ['outgoing', 'incoming'] as const) {
    const select = $<HTMLSelectElement>('.connector-filter', panelOf(direction));
    clear(select).appendChild(h('option', { value: '', text: '(all)' }));
    for (const c of connectors) {
      select.appendChild(
        h('option', { value: c.codeName, text: c.displayName + (c.loaded ? '' : ' (not loaded)') }),
      );
    }
    select.value = state.lists[direction].connector;
  }
}

function renderConnectors(): void {
  const body = clear($('#connectors-table tbody'));
  for (const c of state.connectors) {
    const toggle = h('input', { type: 'checkbox', role: 'switch', 'aria-label': `Enable ${c.codeName}` });
    toggle.checked = c.enabled;
    // A viewer sees the switch, not changes it.
    toggle.disabled = !canChange();
    toggle.addEventListener('change', () => {
      toggle.disabled = true;
      api('PATCH', `/connectors/${encodeURIComponent(c.codeName)}`, { enabled: toggle.checked })
        .then(() => {
          toast(c.displayName + (toggle.checked ? ' enabled.' : ' disabled.'));
          return loadConnectors();
        })
        .catch((error: unknown) => {
          toggle.checked = !toggle.checked;
          toggle.disabled = false;
          fail(error);
        });
    });
    const status = c.loaded
      ? h('span', { className: 'ok-text', text: 'Loaded' })
      : h('span', {
          className: 'warn-mark',
          title: c.notLoadedReason || 'Not loaded',
          text: '\u26A0 Not loaded',
        });
    body.appendChild(
      h('tr', { 'data-connector': c.codeName }, [
        h('td', {}, [h('strong', { text: c.displayName })]),
        h('td', {}, [h('code', { text: c.codeName })]),
        h('td', { text: c.className || '' }),
        h('td', { text: orderingText(c) }),
        h('td', {}, [deliveryPace(c)]),
        h('td', {}, [h('label', { className: 'switch' }, [toggle, h('span', { className: 'track' })])]),
        h('td', {}, [status]),
        h('td', { className: 'actions' }, [
          iconButton(
            'partitions',
            `Partitions of ${c.codeName}`,
            () => showPartitions(c),
            !c.loaded,
            'Only a loaded connector has partitions to show',
          ),
          adminOnly(resyncButton(c)),
          adminOnly(iconButton('edit', `Edit ${c.codeName}`, () => editConnector(c))),
          adminOnly(
            iconButton(
              'delete',
              `Delete ${c.codeName}`,
              () => void deleteConnector(c).catch(fail),
              c.loaded,
              'A loaded connector cannot be deleted: disable it instead',
            ),
          ),
        ]),
      ]),
    );
  }
  $('#panel-connectors .empty').hidden = state.connectors.length > 0;
}

interface ConnectorFormElements extends HTMLFormControlsCollection {
  displayName: HTMLInputElement;
  codeName: HTMLInputElement;
  className: HTMLInputElement;
  enabled: HTMLInputElement;
}

function formElements(): ConnectorFormElements {
  return $<HTMLFormElement>('#connector-form').elements as ConnectorFormElements;
}

/** Opens the connector dialog: a new connector, or `connector` to edit. */
export function editConnector(connector: Connector | null): void {
  state.editing = connector;
  $<HTMLFormElement>('#connector-form').reset();
  const form = formElements();
  $('#connector-dialog-title').textContent = connector ? 'Edit connector' : 'New connector';
  form.displayName.value = connector?.displayName ?? '';
  form.codeName.value = connector?.codeName ?? '';
  form.codeName.disabled = Boolean(connector);
  form.className.value = connector?.className ?? '';
  form.className.disabled = Boolean(connector);
  form.enabled.checked = connector ? connector.enabled : true;
  $('#connector-error').hidden = true;
  $<HTMLDialogElement>('#connector-dialog').showModal();
}

/** Saves the connector dialog. */
export function saveConnector(event: SubmitEvent): void {
  event.preventDefault();
  const form = formElements();
  const editing = state.editing;
  const displayName = form.displayName.value.trim();
  const request = editing
    ? api<Connector>('PATCH', `/connectors/${encodeURIComponent(editing.codeName)}`, {
        displayName: displayName || editing.displayName,
        enabled: form.enabled.checked,
      })
    : api<Connector>('POST', '/connectors', {
        codeName: form.codeName.value.trim(),
        displayName: displayName || undefined,
        className: form.className.value.trim() || undefined,
        enabled: form.enabled.checked,
      });
  request
    .then((saved) => {
      $<HTMLDialogElement>('#connector-dialog').close();
      toast(`${editing ? 'Saved' : 'Created'} ${saved.displayName}.`);
      return loadConnectors();
    })
    .catch((error: unknown) => {
      const box = $('#connector-error');
      box.hidden = false;
      box.textContent = error instanceof Error ? error.message : String(error);
    });
}

async function deleteConnector(connector: Connector): Promise<void> {
  const yes = await confirmAction(
    `Delete connector ${connector.displayName}?`,
    'Its row, its queued synchronizations and the tasks no other connector waits for are removed.',
  );
  if (!yes) return;
  const answer = await api<{ synchronizationsDeleted: number }>(
    'DELETE',
    `/connectors/${encodeURIComponent(connector.codeName)}`,
  );
  toast(`Deleted ${connector.displayName} (${answer.synchronizationsDeleted} queued synchronizations).`);
  await loadConnectors();
}
