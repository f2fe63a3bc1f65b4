/** Small DOM helpers of the admin page. API data only ever reaches the page as text. */

/** Attributes and listeners `h` accepts: `className`, `text`, `on<event>`, or any attribute. */
export type Props = Record<string, string | number | boolean | null | undefined | EventListener>;

/** A child of `h`: a node, a string (inserted as text), or nothing. */
export type Child = Node | string | null | undefined;

/** The first element matching `selector` under `root`; throws when there is none (a page bug). */
export function $<E extends Element = HTMLElement>(selector: string, root: ParentNode = document): E {
  const found = root.querySelector<E>(selector);
  if (!found) throw new Error(`The admin page has no ${selector}.`);
  return found;
}

/** Creates an element; children are nodes or strings (always inserted as text). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  children: readonly Child[] = [],
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') el.className = String(value);
    else if (key === 'text') el.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** Removes every child of `el`; returns it. */
export function clear<E extends Element>(el: E): E {
  el.replaceChildren();
  return el;
}

const ICONS = {
  view: '<svg viewBox="0 0 24 24"><path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z"/><path d="M14 3v5h5M9 13h6M9 17h6"/></svg>',
  sync: '<svg viewBox="0 0 24 24"><path d="M20 12a8 8 0 0 1-14.3 4.9M4 12a8 8 0 0 1 14.3-4.9"/><path d="M18.5 3v4.2h-4.2M5.5 21v-4.2h4.2"/></svg>',
  delete: '<svg viewBox="0 0 24 24"><path d="M6 6l12 12M18 6L6 18"/></svg>',
  edit: '<svg viewBox="0 0 24 24"><path d="M4 20h4L19 9a2.8 2.8 0 0 0-4-4L4 16z"/></svg>',
  partitions:
    '<svg viewBox="0 0 24 24"><path d="M4 5h16M4 10h16M4 15h16M4 20h16"/><path d="M9 3v19M15 3v19"/></svg>',
  requeue: '<svg viewBox="0 0 24 24"><path d="M4 7h11a5 5 0 0 1 0 10H8"/><path d="M8 3L4 7l4 4"/></svg>',
  resync:
    '<svg viewBox="0 0 24 24"><path d="M4 6h12M4 12h9M4 18h6"/><path d="M19 9v10M15.5 15.5L19 19l3.5-3.5"/></svg>',
} as const;

/** An icon button; its label is its accessible name and tooltip. */
export function iconButton(
  kind: keyof typeof ICONS,
  label: string,
  onClick: () => void,
  disabled = false,
  disabledTitle?: string,
): HTMLButtonElement {
  const button = h('button', {
    type: 'button',
    className: `icon-button ${kind}`,
    'aria-label': label,
    title: disabled ? disabledTitle : label,
    disabled,
    onclick: onClick,
  });
  // The icons are constants of this file, never data.
  button.innerHTML = ICONS[kind];
  return button;
}

/** Marks a control that changes something: left out of the page for a viewer (CSS `.admin-only`). */
export function adminOnly<T extends HTMLElement | null>(element: T): T {
  element?.classList.add('admin-only');
  return element;
}

/** A value of a task's data: `null` greyed, objects as indented JSON. */
export function valueNode(value: unknown): HTMLSpanElement {
  if (value === null || value === undefined) return h('span', { className: 'null', text: 'null' });
  const text = typeof value === 'object' ? JSON.stringify(value, null, 2) : String(value);
  return h('span', { className: 'value', text });
}

/** A table of `rows`; a cell that is not a node is shown with `valueNode`. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): HTMLTableElement {
  return h('table', { className: 'grid' }, [
    h('thead', {}, [
      h(
        'tr',
        {},
        headers.map((title) => h('th', { text: title })),
      ),
    ]),
    h(
      'tbody',
      {},
      rows.map((cells) =>
        h(
          'tr',
          {},
          cells.map((cell) => h('td', {}, [cell instanceof Node ? cell : valueNode(cell)])),
        ),
      ),
    ),
  ]);
}

/** A short message at the bottom of the page; errors stay longer. */
export function toast(message: string, isError = false): void {
  const el = h('div', {
    className: `toast${isError ? ' error' : ''}`,
    role: isError ? 'alert' : 'status',
    text: message,
  });
  const box = $('#toasts');
  box.appendChild(el);
  while (box.children.length > 3) box.firstElementChild?.remove();
  setTimeout(() => el.remove(), isError ? 7000 : 3500);
}

/** Asks in the confirmation dialog; resolves with the answer. */
export function confirmAction(title: string, text: string, okLabel = 'Delete'): Promise<boolean> {
  const dialog = $<HTMLDialogElement>('#confirm-dialog');
  const ok = $('#confirm-ok');
  const cancel = $('#confirm-cancel');
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  ok.textContent = okLabel;
  dialog.showModal();
  return new Promise((resolve) => {
    const done = (answer: boolean): void => {
      ok.removeEventListener('click', yes);
      cancel.removeEventListener('click', no);
      dialog.removeEventListener('cancel', no);
      dialog.close();
      resolve(answer);
    };
    const yes = (): void => done(true);
    const no = (): void => done(false);
    ok.addEventListener('click', yes);
    cancel.addEventListener('click', no);
    dialog.addEventListener('cancel', no);
  });
}
