import { api } from './api.js';
import { $, clear, h, toast } from './dom.js';
import { fail } from './notify.js';
import { canChange, processingOn, state } from './state.js';
import { renderTasks, setProcessingNote } from './tasks.js';
import type { Settings } from './types.js';

const SETTINGS: readonly { key: keyof Settings; name: string; desc: string; dependent?: boolean }[] = [
  {
    key: 'enabled',
    name: 'Enable system integration bus',
    desc: 'The bus logs and processes incoming and outgoing tasks. The four switches below work only while this one is on.',
  },
  {
    key: 'logOutgoing',
    name: 'Enable logging of outgoing tasks',
    dependent: true,
    desc: 'Changes to subscribed objects and documents are logged as outgoing tasks.',
  },
  {
    key: 'processOutgoing',
    name: 'Enable processing of outgoing tasks',
    dependent: true,
    desc: 'Logged outgoing tasks are handed to their connectors.',
  },
  {
    key: 'logIncoming',
    name: 'Enable logging of incoming tasks',
    dependent: true,
    desc: 'Tasks received from external systems are logged as incoming tasks.',
  },
  {
    key: 'processIncoming',
    name: 'Enable processing of incoming tasks',
    dependent: true,
    desc: 'Logged incoming tasks are applied to the application.',
  },
];

/** Takes new switch values: the status pills, the Settings tab and the lists' Synchronize buttons. */
export function applySettings(settings: Settings): void {
  state.settings = settings;
  const pills = clear($('#status-pills'));
  const shown: [string, boolean][] = [
    ['Bus', settings.enabled],
    ['Outgoing processing', processingOn('outgoing')],
    ['Incoming processing', processingOn('incoming')],
  ];
  for (const [name, on] of shown) {
    pills.appendChild(
      h('span', { className: `pill ${on ? 'on' : 'off'}`, text: `${name}: ${on ? 'on' : 'off'}` }),
    );
  }
  renderSettings(settings);
  for (const direction of ['outgoing', 'incoming'] as const) {
    setProcessingNote(direction);
    renderTasks(direction);
  }
}

/** Reads the switches again. */
export async function loadSettings(): Promise<void> {
  applySettings(await api<Settings>('GET', '/settings'));
}

function renderSettings(s: Settings): void {
  const list = clear($('#settings-list'));
  for (const setting of SETTINGS) {
    const id = `setting-${setting.key}`;
    const input = h('input', { type: 'checkbox', id, role: 'switch', 'aria-describedby': `${id}-desc` });
    input.checked = s[setting.key];
    input.disabled = !canChange(); // a viewer sees the switches, not changes them
    input.addEventListener('change', () => {
      input.disabled = true;
      api<Settings>('PATCH', '/settings', { [setting.key]: input.checked })
        .then((updated) => {
          applySettings(updated);
          toast(`${setting.name}: ${updated[setting.key] ? 'on' : 'off'}`);
        })
        .catch((error: unknown) => {
          input.checked = !input.checked;
          input.disabled = false;
          fail(error);
        });
    });
    const inactive = setting.dependent && !s.enabled;
    list.appendChild(
      h('div', { className: `setting${setting.dependent ? ' dependent' : ''}` }, [
        h('div', { className: 'text' }, [
          h('label', { className: 'name', for: id, text: setting.name }),
          h('span', { className: 'desc', id: `${id}-desc`, text: setting.desc }),
        ]),
        h('span', { className: 'state', text: inactive ? 'inactive' : '' }),
        h('label', { className: 'switch' }, [input, h('span', { className: 'track' })]),
      ]),
    );
  }
}
