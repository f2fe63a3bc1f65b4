import { api } from './api.js';
import { $, clear, h, table } from './dom.js';
import { fail } from './notify.js';
import { openTask } from './task-detail.js';
import { timeNode } from './time.js';
import type { Connector, ConnectorPartitions } from './types.js';

/** How a connector orders its tasks, as the Connectors tab shows it. */
export function orderingText(connector: Connector): string {
  if (!connector.ordering) return '';
  return connector.ordering === 'object'
    ? `Per object · ${connector.partitions ?? 0} partitions`
    : 'One FIFO';
}

/**
 * Opens the partitions dialog of a connector (R-ORD-1..3): each partition with the instance holding
 * it, what is queued and how many objects are blocked; then the objects a failed task holds back,
 * each linking to that task.
 */
export async function openPartitions(connector: Connector): Promise<void> {
  const view = await api<ConnectorPartitions>(
    'GET',
    `/connectors/${encodeURIComponent(connector.codeName)}/partitions`,
  );
  $('#partitions-dialog-title').textContent = `Partitions of ${connector.displayName}`;
  const body = clear($('#partitions-dialog-body'));
  body.appendChild(
    h('p', {
      className: 'hint',
      text:
        view.ordering === 'object'
          ? `One FIFO per object, in ${view.partitions.length} partitions; each instance runs up to ${view.concurrency} at once. Instances alive: ${view.liveInstances}.`
          : 'One FIFO for the whole connector (partition 0), processed by one instance at a time.',
    }),
  );
  body.appendChild(
    scrolling(
      table(
        ['Partition', 'Held by', 'Lease until', 'Queued', 'Blocked objects'],
        view.partitions.map((p) => [
          String(p.partition),
          p.heldBy ?? h('span', { className: 'sub', text: 'nobody' }),
          timeNode(p.leaseUntil),
          String(p.queued),
          p.blockedObjects > 0 ? h('span', { className: 'warn-mark', text: String(p.blockedObjects) }) : '0',
        ]),
      ),
    ),
  );
  body.appendChild(h('h3', { text: 'Objects held back by a failed task' }));
  if (view.blockedObjects.length === 0) {
    body.appendChild(h('p', { className: 'empty', text: 'No object is blocked.' }));
    return;
  }
  body.appendChild(
    scrolling(
      table(
        ['Object', 'Partition', 'Failed task', 'Error', 'Next attempt', 'Waiting behind it'],
        view.blockedObjects.map((o) => [
          `${o.objectType} ${o.objectId ?? ''}`.trim(),
          String(o.partition),
          h('button', {
            type: 'button',
            className: 'link',
            text: `${o.taskId} ${o.title}`,
            onclick: () => void openTask(o.taskId).catch(fail),
          }),
          o.errorMessage ?? '',
          timeNode(o.nextAttemptAt),
          String(o.waiting),
        ]),
      ),
    ),
  );
}

/** A table that scrolls sideways on its own on a narrow screen, not the whole dialog. */
function scrolling(content: HTMLElement): HTMLElement {
  return h('div', { className: 'table-wrap' }, [content]);
}

/** Opens the dialog, reporting a failure as the other actions do. */
export function showPartitions(connector: Connector): void {
  openPartitions(connector)
    .then(() => $<HTMLDialogElement>('#partitions-dialog').showModal())
    .catch(fail);
}
