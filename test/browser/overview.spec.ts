import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrationEventLog } from 'nestjs-integration-bus';
import { User } from '../support/entities.js';
import { recordingConnector } from '../support/recording-connector.js';
import { ADMIN_TOKEN, useManagementApp } from '../management/management-app.js';
import { browserAvailable, launchChromium } from './chromium.js';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], [], { displayName: 'CRM' });
const erp = recordingConnector('Erp', [{ objectType: 'cms.user' }], [], { displayName: 'ERP system' });

const app = useManagementApp({ providers: [crm.provider, erp.provider] });
const { t } = app;

let browser: Browser;
const pageErrors: string[] = [];

/** The seeded queue: six users, so six tasks for each connector; Crm's in every status. */
const SEEDED = { Crm: { waiting: 2, failed: 1, retrying: 1, skipped: 1, parked: 1 }, Erp: { waiting: 6 } };

async function setState(connector: string, userName: string, state: string): Promise<void> {
  await t.sql(
    `update integration_synchronization s set state = $3::text, attempts = 2, failures = 2, last_run = now(),
            error_message = $4, next_attempt_at = case when $3::text = 'parked' then null else now() + interval '5 minutes' end
       from integration_connector c, integration_task t
      where c.id = s.connector_id and t.id = s.task_id and c.code_name = $1 and t.title like $2`,
    [connector, `%${userName}%`, state, `${connector} refused ${userName}: HTTP 422 (${state})`],
  );
}

async function newPage(width: number): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 860 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 401/.test(message.text())) pageErrors.push(message.text());
  });
  return page;
}

async function signIn(page: Page, hash = ''): Promise<void> {
  await page.goto(`${app.baseUrl}/integration/admin${hash}`);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('dialog', { name: 'Sign in' }).waitFor({ state: 'hidden' });
}

async function openTab(page: Page, name: string): Promise<void> {
  await page.getByRole('tab', { name }).click();
  await page.locator('.panel:not([hidden])').waitFor();
}

/** The text of each count cell of a connector's outgoing Overview row, by status. */
async function overviewCounts(page: Page, connector: string): Promise<Record<string, number>> {
  const row = page.locator(`#overview-table tr[data-connector="${connector}"][data-direction="outgoing"]`);
  await row.waitFor();
  const counts: Record<string, number> = {};
  for (const cell of await row.locator('td.count').all()) {
    counts[(await cell.getAttribute('data-status'))!] = Number(
      (await cell.textContent())?.replace(/\D+$/, ''),
    );
  }
  return counts;
}

beforeAll(async () => {
  if (!browserAvailable) return;
  await mkdir(ARTIFACTS, { recursive: true });
  const em = t.em();
  for (const userName of ['ann', 'bob', 'cid', 'dan', 'eve', 'fay']) em.create(User, { userName });
  await em.flush();
  await setState('Crm', 'bob', 'failed');
  await setState('Crm', 'cid', 'retrying');
  await setState('Crm', 'dan', 'skipped');
  await setState('Crm', 'eve', 'parked');
  await t.sql(`update integration_task set created_at = now() - interval '2 hours' where title like '%ann%'`);
  const [eve] = await t.sql<{ id: string }>(`select id from integration_task where title like '%eve%'`);
  await t.app.get(IntegrationEventLog).write({
    level: 'warning',
    source: 'IntegrationBus',
    eventCode: 'TASKPARKED',
    message: 'Task eve parked for Crm after 2 failed attempts',
    connectorName: 'Crm',
    taskId: Number(eve!.id),
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!browserAvailable)('admin page: Overview, search, links, layouts', () => {
  it('shows the seeded queue per connector and direction on the Overview', async () => {
    const page = await newPage(1360);
    await signIn(page, '#overview');
    await expect
      .poll(() => page.getByRole('tab', { name: 'Overview' }).getAttribute('aria-selected'))
      .toBe('true');
    expect(await overviewCounts(page, 'Crm')).toEqual(SEEDED.Crm);
    expect(await overviewCounts(page, 'Erp')).toEqual({
      ...SEEDED.Erp,
      failed: 0,
      retrying: 0,
      skipped: 0,
      parked: 0,
    });
    const crmRow = page.locator('#overview-table tr[data-connector="Crm"][data-direction="outgoing"]');
    expect(await crmRow.locator('td.oldest').textContent()).toMatch(/^2 h.*blocked for \d+ s$/);
    expect(await crmRow.getAttribute('class')).toContain('blocked');
    expect(await crmRow.locator('svg.sparkline').getAttribute('aria-label')).toBe(
      '0 tasks in the last 15 minutes',
    );
    expect(await page.locator('#overview-note').isVisible()).toBe(true);

    // A count opens the list of those tasks.
    await crmRow.getByRole('button', { name: /1 failed outgoing tasks of CRM/ }).click();
    const rows = page.locator('#panel-outgoing table.tasks tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await page.getByRole('tab', { name: 'Outgoing tasks' }).getAttribute('aria-selected')).toBe(
      'true',
    );
    // The error is in the row; the time is relative, with the absolute time and zone on hover.
    expect(await rows.first().textContent()).toContain('Crm refused bob: HTTP 422 (failed)');
    const time = rows.first().locator('time');
    expect(await time.textContent()).toMatch(/ago|now/);
    expect(await time.getAttribute('title')).toMatch(/\(.+\)$/);
    await page.close();
  });

  it('searches a task list on the server', async () => {
    const page = await newPage(1360);
    await signIn(page, '#outgoing');
    const rows = page.locator('#panel-outgoing table.tasks tbody tr');
    await expect.poll(() => rows.count()).toBe(12);
    await page.locator('#panel-outgoing').getByLabel('Search').fill('EVE');
    await expect.poll(() => rows.count()).toBe(2); // eve, for each connector
    expect(await rows.allTextContents()).toEqual([
      expect.stringContaining('eve'),
      expect.stringContaining('eve'),
    ]);
    await page.locator('#panel-outgoing').getByLabel('Search').fill('nobody');
    await expect.poll(() => page.locator('#panel-outgoing .empty').textContent()).toBe('No tasks match.');
    await page.close();
  });

  it('links an event-log row to its task', async () => {
    const page = await newPage(1360);
    await signIn(page, '#events');
    const [eve] = await t.sql<{ id: string }>(`select id from integration_task where title like '%eve%'`);
    await page.getByRole('button', { name: `Open task ${eve!.id}` }).click();
    const dialog = page.getByRole('dialog', { name: /Task detail/ });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Crm refused eve: HTTP 422 (parked)');
    await page.close();
  });

  it('refreshes the visible tab on its own when Auto-refresh is on', async () => {
    const page = await newPage(1360);
    await page.clock.install();
    await signIn(page, '#overview');
    expect((await overviewCounts(page, 'Erp')).waiting).toBe(6);
    await page.getByLabel('Auto-refresh').check();
    const em = t.em();
    em.create(User, { userName: 'gus' });
    await em.flush();
    await page.clock.runFor(11_000);
    await expect.poll(async () => (await overviewCounts(page, 'Erp')).waiting).toBe(7);
    await t.sql(`delete from integration_task where title like '%gus%'`);
    await page.close();
  });

  for (const [device, width] of [
    ['desktop', 1360],
    ['phone', 420],
  ] as const) {
    it(`lays every view out at ${width} px (${device}), screenshots in test/artifacts`, async () => {
      const page = await newPage(width);
      await signIn(page, '#overview');
      for (const [tab, name] of [
        ['Overview', 'overview'],
        ['Outgoing tasks', 'outgoing'],
        ['Incoming tasks', 'incoming'],
        ['Connectors', 'connectors'],
        ['Settings', 'settings'],
        ['Event log', 'events'],
      ] as const) {
        await openTab(page, tab);
        await page
          .locator('.panel:not([hidden]) :is(tbody tr, .setting, .empty:not([hidden]))')
          .first()
          .waitFor({ timeout: 5000 });
        // Nothing wider than the screen: no sideways scrolling on a phone.
        expect({
          tab,
          overflow: await page.evaluate<number>('document.documentElement.scrollWidth - innerWidth'),
        }).toEqual({
          tab,
          overflow: 0,
        });
        await page.screenshot({ path: join(ARTIFACTS, `admin-${device}-${name}.png`), fullPage: true });
      }
      await openTab(page, 'Outgoing tasks');
      await page.locator('#panel-outgoing .task-title').first().click();
      await page.getByRole('dialog', { name: /Task detail/ }).waitFor();
      await page.screenshot({ path: join(ARTIFACTS, `admin-${device}-task-detail.png`) });
      await page.close();
    });
  }

  it('ran without a script error or a Content-Security-Policy violation', () => {
    expect(pageErrors).toEqual([]);
  });
});
