import { api } from './api.js';
import { $, clear, h, table } from './dom.js';
import { statusNode, STATUS_LABELS } from './status.js';
import { absoluteTime, timeNode } from './time.js';
import type { RelatedRecord, TaskDetail, TaskSynchronization } from './types.js';

function fieldsTable(data: Record<string, unknown> | null): HTMLElement {
  const keys = Object.keys(data ?? {});
  if (!keys.length) return h('p', { className: 'muted', text: 'No fields.' });
  return table(
    ['Field name', 'Value'],
    keys.map((k) => [h('strong', { text: k }), data?.[k]]),
  );
}

function relatedTable(records: readonly RelatedRecord[] | null): HTMLElement {
  if (!records?.length) return h('p', { className: 'muted', text: 'No related data.' });
  return table(
    [
      'Field',
      'Object type',
      'ID',
      'Code name',
      'Site',
      'Parent type',
      'Parent ID',
      'Group ID',
      'Node GUID',
      'Culture',
    ],
    records.map((r) => [
      r.property,
      r.objectType,
      r.id,
      r.codeName,
      r.siteName,
      r.parentType,
      r.parentId,
      r.groupId,
      r.nodeGuid,
      r.culture,
    ]),
  );
}

function logTable(entries: TaskSynchronization['log']): HTMLElement {
  if (!entries.length) return h('p', { className: 'muted', text: 'No failed attempts.' });
  return table(
    ['Time', 'Error message'],
    entries.map((e) => [
      h('span', { className: 'nowrap' }, [timeNode(e.time)]),
      h('span', { className: 'value', text: e.errorMessage }),
    ]),
  );
}

function fact(term: string, value: Node | string): HTMLElement {
  return h('div', {}, [h('dt', { text: term }), h('dd', {}, [value])]);
}

/** Opens the detail dialog of a task: its facts, data, related data and synchronizations. */
export async function openTask(taskId: number): Promise<void> {
  const task = await api<TaskDetail>('GET', `/tasks/${taskId}`);
  $('#task-dialog-title').textContent = `Task detail (${task.title})`;
  const facts: [string, Node | string][] = [
    ['Task direction', task.direction === 'incoming' ? 'Inbound' : 'Outbound'],
    ['Task type', task.taskType],
    ['Task time', timeNode(task.createdAt)],
    ['Object type', task.objectType],
    ['Object ID', task.objectId ?? ''],
    ['Site', task.siteName || '(global)'],
    ['Data type', task.dataType],
    ['Process type', task.processType],
    ['Task ID', String(task.id)],
  ];
  if (task.aliasPath) facts.push(['Alias path', task.aliasPath]);
  const body = clear($('#task-dialog-body'));
  body.appendChild(
    h(
      'dl',
      { className: 'facts' },
      facts.map(([term, value]) => fact(term, value)),
    ),
  );
  body.appendChild(h('h3', { text: task.entity || task.objectType }));
  body.appendChild(fieldsTable(task.data));
  body.appendChild(h('h3', { text: 'Related data' }));
  body.appendChild(relatedTable(task.relatedData));
  for (const [name, children] of Object.entries(task.children ?? {})) {
    children.forEach((child, index) => {
      body.appendChild(h('h3', { text: `${name} #${index + 1}` }));
      body.appendChild(fieldsTable(child.data));
      if (child.relatedData.length) body.appendChild(relatedTable(child.relatedData));
    });
  }
  body.appendChild(h('h3', { text: 'Synchronizations' }));
  if (!task.synchronizations.length) {
    body.appendChild(h('p', { className: 'muted', text: 'No connector waits for this task.' }));
  }
  for (const s of task.synchronizations) {
    body.appendChild(
      table(
        ['Connector', 'Attempts', 'Last run', 'Status', 'Next attempt'],
        [
          [
            h('span', { title: s.connectorName, text: s.connectorDisplayName }),
            s.attempts,
            timeNode(s.lastRun, 'never'),
            h('span', {}, [
              statusNode(s, null),
              s.errorMessage && s.status !== 'waiting'
                ? h('span', { className: 'sub', text: s.errorMessage })
                : null,
            ]),
            h('span', { className: 'nowrap' }, [timeNode(s.nextAttemptAt)]),
          ],
        ],
      ),
    );
    if (s.log.length) body.appendChild(logTable(s.log));
  }
  $<HTMLDialogElement>('#task-dialog').showModal();
}

/** Opens the sync log of one task for one connector. */
export async function openLog(item: {
  taskId: number;
  connectorName: string;
  connectorDisplayName: string;
}): Promise<void> {
  const task = await api<TaskDetail>('GET', `/tasks/${item.taskId}`);
  const sync = task.synchronizations.find((s) => s.connectorName === item.connectorName);
  $('#log-dialog-title').textContent = `Synchronization log: ${task.title}`;
  const body = clear($('#log-dialog-body'));
  if (!sync) {
    body.appendChild(
      h('p', { className: 'muted', text: `This task is no longer queued for ${item.connectorDisplayName}.` }),
    );
  } else {
    body.appendChild(
      h('dl', { className: 'facts' }, [
        fact('Connector', sync.connectorDisplayName),
        fact(
          'Status',
          (STATUS_LABELS[sync.status] ?? sync.status) +
            (sync.blockedBy ? ` behind task ${sync.blockedBy}` : ''),
        ),
        fact('Attempts', String(sync.attempts)),
        fact('Next attempt', sync.nextAttemptAt ? absoluteTime(sync.nextAttemptAt) : '—'),
        fact('Last run', timeNode(sync.lastRun, 'never')),
      ]),
    );
    body.appendChild(h('h3', { text: 'Attempts with a message, newest first' }));
    body.appendChild(logTable(sync.log));
  }
  $<HTMLDialogElement>('#log-dialog').showModal();
}
