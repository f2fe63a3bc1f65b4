/**
 * The admin page's entry module, served as `/{path}/admin/app.js`: asks for the admin token once
 * per tab (`sessionStorage`), sends it as a bearer token, and renders every tab from the JSON API
 * without reloading the page.
 */
import { api, currentToken, useToken, whenUnauthorized } from './api.js';
import { editConnector, loadConnectors, saveConnector } from './connectors.js';
import { $ } from './dom.js';
import { loadEvents } from './events.js';
import { fail } from './notify.js';
import { loadOverview } from './overview.js';
import { loadRetention } from './retention.js';
import { setupRequeueRefresh, setupResync } from './resync.js';
import { applySettings, loadSettings } from './settings.js';
import { state, type Role } from './state.js';
import { loadTasks, panelOf, setupTaskPanel } from './tasks.js';
import type { Direction, Settings, SynchronizationStatus } from './types.js';

/** Period of the automatic refresh of the visible tab. */
const AUTO_REFRESH_MS = 10_000;
/** `sessionStorage` key of the auto-refresh switch. */
const AUTO_REFRESH_KEY = 'integration-bus.auto-refresh';

function showLogin(message: string | null): void {
  $('#main').hidden = true;
  $('#sign-out').hidden = true;
  $('#role-badge').hidden = true;
  const dialog = $<HTMLDialogElement>('#login-dialog');
  const error = $('#login-error');
  error.hidden = !message;
  error.textContent = message ?? '';
  if (!dialog.open) dialog.showModal();
  $('#login-token').focus();
}

async function signIn(token: string | null): Promise<void> {
  useToken(token);
  let settings: Settings;
  try {
    settings = await api<Settings>('GET', '/settings');
  } catch (error) {
    // A 401 already asked again; anything else (403: the admin API is off) is said in the dialog.
    const status = (error as { status?: number }).status;
    if (status !== 401) showLogin(error instanceof Error ? error.message : String(error));
    return;
  }
  useToken(token, true);
  // Shown as a viewer when unknown: the page then offers nothing the token might not allow.
  const role = await api<{ role: Role }>('GET', '/access').then(
    (access) => access.role,
    (): Role => 'viewer',
  );
  applyRole(role);
  $<HTMLDialogElement>('#login-dialog').close();
  $('#sign-out').hidden = !token;
  $('#main').hidden = false;
  applySettings(settings);
  await loadConnectors();
  await selectTab(tabFromHash() ?? state.tab ?? 'outgoing');
}

/**
 * Shows the token's role in the top bar and, for a viewer, leaves out every control that would
 * change something (`.admin-only`, R-OPS-2): the API would refuse it with a 403 anyway.
 */
function applyRole(role: Role): void {
  state.role = role;
  document.body.dataset.role = role;
  const badge = $('#role-badge');
  badge.hidden = false;
  badge.className = `role-badge ${role}`;
  badge.textContent = role === 'viewer' ? 'Viewer · read-only' : 'Admin';
  badge.title =
    role === 'viewer'
      ? 'Signed in with the viewer token (http.viewerToken): reads only'
      : 'Signed in with the admin token: every action';
}

function tabFromHash(): string | null {
  const name = location.hash.replace('#', '');
  return name && document.getElementById(`panel-${name}`) ? name : null;
}

/** Shows a task list filtered by connector and status (from a count of the Overview). */
function openList(direction: Direction, connector: string, status: SynchronizationStatus): void {
  const list = state.lists[direction];
  list.connector = connector;
  list.status = status;
  const panel = panelOf(direction);
  $<HTMLSelectElement>('.connector-filter', panel).value = connector;
  $<HTMLSelectElement>('.status-filter', panel).value = status;
  void selectTab(direction);
}

/** Loads what the tab shows; `refresh` keeps a list's selection and length (auto-refresh). */
function loadTab(name: string, refresh = false): Promise<void> {
  if (name === 'overview') return loadOverview(openList);
  if (name === 'outgoing' || name === 'incoming') return loadTasks(name, false, refresh);
  if (name === 'connectors') return loadConnectors();
  if (name === 'settings') return Promise.all([loadSettings(), loadRetention()]).then(() => undefined);
  if (name === 'events') return loadEvents(false);
  return Promise.resolve();
}

async function selectTab(name: string): Promise<void> {
  state.tab = name;
  for (const tab of document.querySelectorAll<HTMLElement>('[role=tab]')) {
    const selected = tab.dataset.tab === name;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  for (const panel of document.querySelectorAll<HTMLElement>('.panel')) {
    panel.hidden = panel.id !== `panel-${name}`;
  }
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  await loadTab(name).catch(fail);
}

/** Every `AUTO_REFRESH_MS` while switched on: reloads the visible tab, unless a dialog is open. */
function setupAutoRefresh(): void {
  const toggle = $<HTMLInputElement>('#auto-refresh');
  toggle.checked = sessionStorage.getItem(AUTO_REFRESH_KEY) === 'on';
  toggle.addEventListener('change', () =>
    sessionStorage.setItem(AUTO_REFRESH_KEY, toggle.checked ? 'on' : 'off'),
  );
  let busy = false;
  setInterval(() => {
    const tab = state.tab;
    if (!toggle.checked || busy || !tab || $('#main').hidden || document.hidden) return;
    if (document.querySelector('dialog[open]')) return; // never under the operator's eyes
    busy = true;
    loadTab(tab, true)
      .catch(fail)
      .finally(() => {
        busy = false;
      });
  }, AUTO_REFRESH_MS);
}

function start(): void {
  whenUnauthorized(showLogin);
  setupTaskPanel('outgoing');
  setupTaskPanel('incoming');
  setupRequeueRefresh(panelOf('outgoing'));
  setupResync();
  const tabs = [...document.querySelectorAll<HTMLElement>('[role=tab]')];
  for (const tab of tabs) {
    tab.addEventListener('click', () => void selectTab(tab.dataset.tab ?? 'outgoing'));
    tab.addEventListener('keydown', (event) => {
      if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
      const step = event.key === 'ArrowRight' ? 1 : tabs.length - 1;
      const next = tabs[(tabs.indexOf(tab) + step) % tabs.length]!;
      next.focus();
      void selectTab(next.dataset.tab ?? 'outgoing');
    });
  }
  for (const button of document.querySelectorAll<HTMLElement>('dialog .close')) {
    button.addEventListener('click', () => button.closest('dialog')?.close());
  }
  $('#login-dialog').addEventListener('cancel', (event) => event.preventDefault());
  $('#login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void signIn($<HTMLInputElement>('#login-token').value.trim());
  });
  $('#sign-out').addEventListener('click', () => {
    useToken(null);
    $<HTMLInputElement>('#login-token').value = '';
    showLogin(null);
  });
  $('#new-connector').addEventListener('click', () => editConnector(null));
  $<HTMLFormElement>('#connector-form').addEventListener('submit', saveConnector);
  $('#events-refresh').addEventListener('click', () => void loadEvents(false).catch(fail));
  $('#events-more').addEventListener('click', () => void loadEvents(true).catch(fail));
  $('#overview-refresh').addEventListener('click', () => void loadOverview(openList).catch(fail));
  setupAutoRefresh();
  window.addEventListener('hashchange', () => {
    const tab = tabFromHash();
    if (tab && tab !== state.tab && !$('#main').hidden) void selectTab(tab);
  });
  void signIn(currentToken());
}

// A module script runs after the document is parsed.
start();
