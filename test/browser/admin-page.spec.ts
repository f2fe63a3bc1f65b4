import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IntegrationEventLog,
  IntegrationProcessResult,
  TaskProcessType,
  TaskType,
} from 'nestjs-integration-bus';
import { Role, Site, User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { ADMIN_TOKEN, useManagementApp } from '../management/management-app.js';
import { browserAvailable, launchChromium } from './chromium.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';
import { giveLoneSynchronizationsRows } from '../support/lone-synchronizations.js';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
const R = IntegrationProcessResult;

const log: CallLog = [];
const crm = recordingConnector(
  'Crm',
  [{ objectType: 'cms.user', processType: TaskProcessType.AsyncSimpleSnapshot }],
  log,
  { displayName: 'CRM' },
);
const erp = recordingConnector('Erp', [{ objectType: 'cms.user' }, { objectType: 'cms.role' }], log, {
  displayName: 'ERP system',
});

const app = useManagementApp({ providers: [crm.provider, erp.provider] });
const { t } = app;

let browser: Browser;
let page: Page;
/** Script errors and console errors of the page, but for the 401s of the sign-in. */
const pageErrors: string[] = [];

/** Ids of the tasks waiting for a connector, oldest first. */
async function queuedFor(connector: string): Promise<number[]> {
  const queued = await t.sql<{ id: string }>(
    `select s.task_id as id from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_connector c on c.id = s.connector_id
      where c.code_name = $1 order by s.task_id`,
    [connector],
  );
  return queued.map((r) => Number(r.id));
}

async function screenshot(name: string): Promise<void> {
  await page.locator('#toasts').evaluateAll((boxes) => boxes.forEach((box) => box.replaceChildren()));
  await page.screenshot({ path: join(ARTIFACTS, `admin-${name}.png`), fullPage: true });
}

async function openTab(name: string): Promise<void> {
  await page.getByRole('tab', { name }).click();
  await page.locator('.panel:not([hidden])').waitFor();
}

/** The visible tab panel. */
function panel() {
  return page.locator('.panel:not([hidden])');
}

/** The rows of the visible task list. */
function rows() {
  return panel().locator('table.tasks tbody tr');
}

beforeAll(async () => {
  if (!browserAvailable) return;
  await mkdir(ARTIFACTS, { recursive: true });
  // What a host app would have logged: users on a site (each a task for both connectors), roles
  // (Erp only), an incoming role, a leftover connector row, and a few event-log entries.
  const em = t.em();
  const site = em.create(Site, { name: 'CorpSite' });
  for (const userName of ['alice', 'bruno', 'chloe', 'dmitri']) {
    em.create(User, { userName, email: `${userName}@example.com`, site });
  }
  em.create(Role, { name: 'editors' });
  await em.flush();
  crm.control.respond = (task) =>
    (task.object as User).userName === 'bruno'
      ? { result: R.ErrorAndSkip, errorMessage: 'CRM rejected bruno: duplicate e-mail address' }
      : R.SkipNow;
  await t.bus.processOutgoingTasks('Crm');
  crm.control.respond = () => R.OK;
  await t.bus.processExternalTask('Erp', Object.assign(new Role(), { name: 'auditors' }), {
    taskType: TaskType.CreateObject,
  });
  await t.sql(
    `insert into integration_connector (code_name, display_name, class_name, enabled)
     values ('LegacyErp', 'Legacy ERP', 'LegacyErpConnector', false)`,
  );
  const events = t.app.get(IntegrationEventLog);
  await events.write({ level: 'info', source: 'Crm', eventCode: 'CREATEOBJECT', message: 'Created alice' });
  await events.write({
    level: 'error',
    source: 'Integration bus',
    eventCode: 'SYNCERROR',
    message: 'Synchronous processing failed for chloe',
    connectorName: 'Erp',
  });

  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 401/.test(message.text())) pageErrors.push(message.text());
  });
});

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!browserAvailable)('admin page in Chromium', () => {
  it('asks for the token once, then shows the outgoing tasks', async () => {
    await page.goto(`${app.baseUrl}/integration/admin`);
    const login = page.getByRole('dialog', { name: 'Sign in' });
    await login.waitFor();
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('not accepted');
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await login.waitFor({ state: 'hidden' });
    await rows().first().waitFor();
    // 4 users for Crm, 4 users + 1 role for Erp.
    expect(await rows().count()).toBe(9);
    expect(await page.getByRole('tab', { name: 'Outgoing tasks' }).getAttribute('aria-selected')).toBe(
      'true',
    );
    await screenshot('outgoing-tasks');

    // The token is kept for the tab: a reload does not ask again.
    await page.reload();
    await rows().first().waitFor();
    expect(await page.getByRole('dialog', { name: 'Sign in' }).isVisible()).toBe(false);
  });

  it('filters by connector', async () => {
    await panel().getByLabel('Connector').selectOption('Crm');
    await expect.poll(() => rows().count()).toBe(4);
    const connectors = await rows().locator('td:nth-child(5)').allTextContents();
    expect(new Set(connectors)).toEqual(new Set(['CRM']));
  });

  it('shows a task that failed (ErrorAndSkip) as retrying, with its message in the row and its log on click', async () => {
    const failed = rows().locator('button.status-retrying');
    expect(await failed.count()).toBe(1);
    expect(await failed.textContent()).toBe('Retrying');
    await failed.hover();
    expect(await failed.getAttribute('title')).toBe('CRM rejected bruno: duplicate e-mail address');
    const row = rows().filter({ has: page.locator('button.status-retrying') });
    expect(await row.textContent()).toContain('CRM rejected bruno: duplicate e-mail address');
    expect(await row.textContent()).toContain('next attempt');
    // The others answered SkipNow: skipped, not failed (R-DEL-7).
    expect(await rows().locator('button.status-skipped').count()).toBe(3);
    await failed.click();
    const dialog = page.getByRole('dialog', { name: /Synchronization log/ });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('CRM rejected bruno: duplicate e-mail address');
    await screenshot('sync-log');
    await dialog.getByRole('button', { name: 'Close' }).last().click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('opens the detail of a task', async () => {
    const [aliceTask] = await queuedFor('Crm');
    await page.getByRole('button', { name: `View task ${aliceTask}` }).click();
    const dialog = page.getByRole('dialog', { name: /Task detail/ });
    await dialog.waitFor();
    const text = (await dialog.textContent()) ?? '';
    expect(text).toContain('Task detail (');
    expect(text).toContain('alice@example.com');
    expect(text).toContain('Related data');
    expect(text).toContain('CorpSite');
    await screenshot('task-detail');
    await dialog.getByRole('button', { name: 'Close' }).last().click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('synchronizes one task', async () => {
    const [aliceTask] = await queuedFor('Crm');
    log.length = 0;
    await page.getByRole('button', { name: `Synchronize task ${aliceTask}` }).click();
    await expect.poll(() => page.locator('.toast').last().textContent()).toContain('1 OK');
    await expect.poll(() => rows().count()).toBe(3);
    expect(log.map((c) => [c.connector, c.task.id])).toEqual([['Crm', aliceTask]]);
    expect(await queuedFor('Crm')).not.toContain(aliceTask);
  });

  it('deletes the selected tasks in bulk', async () => {
    await panel().getByLabel('Connector').selectOption('');
    await expect.poll(() => rows().count()).toBe(8);
    const erpBefore = await queuedFor('Erp');
    const picked = rows().filter({ hasText: 'ERP system' });
    await picked.nth(0).getByRole('checkbox').check();
    await picked.nth(1).getByRole('checkbox').check();
    await panel().locator('.bulk-scope').selectOption('selected');
    await panel().locator('.bulk-action').selectOption('delete');
    await panel().locator('.bulk-ok').click();
    const confirm = page.getByRole('dialog', { name: /Delete 2 selected tasks/ });
    await confirm.waitFor();
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => rows().count()).toBe(6);
    expect(await queuedFor('Erp')).toEqual(erpBefore.slice(2));
    expect(await page.locator('.toast').last().textContent()).toContain('Deleted 2 tasks');
  });

  it('shows parked tasks through the Status filter, with their message, and requeues one', async () => {
    const [parkedTask] = await queuedFor('Erp');
    // Parked after three failed attempts: the first of them gave the task's lone synchronization a row.
    await giveLoneSynchronizationsRows(t, [parkedTask!]);
    await t.sql(
      `update integration_synchronization s set state = 'parked', attempts = 3, failures = 3,
              error_message = 'ERP refused it three times'
         from integration_connector c where c.id = s.connector_id and c.code_name = 'Erp' and s.task_id = $1`,
      [parkedTask],
    );
    await panel().getByLabel('Status').selectOption('parked');
    await expect.poll(() => rows().count()).toBe(1);
    const row = rows().first();
    expect(await row.getByRole('button', { name: 'Parked' }).count()).toBe(1);
    expect(await row.textContent()).toContain('ERP refused it three times');
    expect(await row.textContent()).toContain('3 attempts');
    await screenshot('parked');
    await page.getByRole('button', { name: `Requeue task ${parkedTask}` }).click();
    await expect.poll(() => page.locator('.toast').last().textContent()).toContain('Requeued');
    await expect.poll(() => rows().count()).toBe(0);
    expect(
      await t.sql(`select state, failures from ${ALL_SYNCHRONIZATIONS_SQL} s where task_id = $1`, [
        parkedTask,
      ]),
    ).toEqual([{ state: null, failures: 0 }]);
    await panel().getByLabel('Status').selectOption('');
    await expect.poll(() => rows().count()).toBe(6);
  });

  it('shows incoming tasks on their own tab', async () => {
    await openTab('Incoming tasks');
    await expect.poll(() => rows().count()).toBe(1);
    expect(await rows().first().textContent()).toContain('cms.role');
    await screenshot('incoming-tasks');
  });

  it('marks a connector that is not loaded', async () => {
    await openTab('Connectors');
    const legacy = page.locator('#connectors-table tr[data-connector="LegacyErp"]');
    await legacy.waitFor();
    const mark = legacy.locator('.warn-mark');
    expect(await mark.textContent()).toContain('Not loaded');
    expect(await mark.getAttribute('title')).toContain("@Connector('LegacyErp')");
    expect(await page.locator('#connectors-table tr[data-connector="Crm"]').textContent()).toContain(
      'Loaded',
    );
    await screenshot('connectors');
  });

  it('registers a connector from its dialog, and deletes it', async () => {
    await page.getByRole('button', { name: 'New connector' }).click();
    const dialog = page.getByRole('dialog', { name: 'New connector' });
    await dialog.getByLabel('Display name').fill('Warehouse');
    await dialog.getByLabel('Code name').fill('Warehouse');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const row = page.locator('#connectors-table tr[data-connector="Warehouse"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('Not loaded');
    await row.getByRole('button', { name: 'Delete Warehouse' }).click();
    await page
      .getByRole('dialog', { name: /Delete connector Warehouse/ })
      .getByRole('button', { name: 'Delete' })
      .click();
    await row.waitFor({ state: 'detached' });
    expect(await t.sql(`select id from integration_connector where code_name = 'Warehouse'`)).toEqual([]);
  });

  it('toggles a setting, and greys Synchronize out while processing is off', async () => {
    await openTab('Settings');
    const processOutgoing = page.getByRole('switch', { name: 'Enable processing of outgoing tasks' });
    expect(await processOutgoing.isChecked()).toBe(true);
    await processOutgoing.click();
    await expect.poll(async () => (await t.bus.getSettings()).processOutgoing).toBe(false);
    await expect
      .poll(() => page.locator('#status-pills').textContent())
      .toContain('Outgoing processing: off');
    // What is kept (R-OPS-1): the defaults, read from GET /retention.
    const retention = page.getByRole('region', { name: 'Retention' });
    await expect.poll(() => retention.textContent()).toMatch(/Sync log\s*30 days/);
    expect(await retention.textContent()).toMatch(/Parked tasks\s*kept until requeued or deleted/);
    await screenshot('settings');

    await openTab('Outgoing tasks');
    await rows().first().waitFor();
    const syncButtons = panel().locator('button.icon-button.sync');
    expect(await syncButtons.count()).toBe(6);
    for (const button of await syncButtons.all()) expect(await button.isDisabled()).toBe(true);
    expect(await panel().locator('.processing-off').isVisible()).toBe(true);

    await openTab('Settings');
    await processOutgoing.click();
    await expect.poll(async () => (await t.bus.getSettings()).processOutgoing).toBe(true);
  });

  it('synchronizes all tasks of a list', async () => {
    await openTab('Outgoing tasks');
    await rows().first().waitFor();
    log.length = 0;
    await panel().locator('.bulk-scope').selectOption('all');
    await panel().locator('.bulk-action').selectOption('synchronize');
    await panel().locator('.bulk-ok').click();
    await expect.poll(() => rows().count()).toBe(0);
    expect(await panel().locator('.empty').isVisible()).toBe(true);
    expect(await queuedFor('Crm')).toEqual([]);
    expect(await queuedFor('Erp')).toHaveLength(1); // the incoming task stays for its own list
    expect(log).toHaveLength(6);
  });

  it('shows the event log, newest first', async () => {
    await openTab('Event log');
    const entries = page.locator('#events-table tbody tr');
    // A connector's own entry, the synchronous failure, then what the operator did on the page
    // (issue 11, item 11), newest first: the bulk synchronization of the test before on top.
    await expect.poll(() => entries.count()).toBe(8);
    const texts = await entries.allTextContents();
    expect(texts.at(-1)).toContain('CREATEOBJECT');
    expect(texts.at(-2)).toContain('SYNCERROR');
    expect(texts[0]).toContain('BULKSYNCHRONIZE');
    for (const code of ['SETTINGSCHANGED', 'CONNECTORCREATED', 'CONNECTORDELETED', 'BULKDELETE'])
      expect(texts.some((text) => text.includes(code))).toBe(true);
    await screenshot('event-log');
  });

  it('opens the API docs with the token of the session', async () => {
    await page.goto(`${app.baseUrl}/integration/docs`);
    await page.locator('.swagger-ui .info .title').waitFor();
    expect(await page.locator('.swagger-ui .info .title').textContent()).toContain('Integration bus');
    expect(await page.locator('.opblock-summary-path').allTextContents()).toContain(
      '/integration/tasks/{id}',
    );
    await screenshot('api-docs');
  });

  it('ran without a script error or a Content-Security-Policy violation', () => {
    expect(pageErrors).toEqual([]);
  });
});
