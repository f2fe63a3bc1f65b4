import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter2 } from '@nestjs/event-emitter';
import {
  IntegrationEvents,
  IntegrationProcessResult,
  TaskProcessType,
  type IntegrationTaskEvent,
} from 'nestjs-integration-bus';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';
import { Counter } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { ADMIN_TOKEN, useManagementApp } from '../management/management-app.js';
import { seedCounters } from '../resync/resync-support.js';
import { browserAvailable, launchChromium } from './chromium.js';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
const ROWS = 3000;

const log: CallLog = [];
const erp = recordingConnector(
  'Erp',
  [{ objectType: 'test.counter', processType: TaskProcessType.AsyncSimpleSnapshot }],
  log,
  { displayName: 'ERP system' },
);
const app = useManagementApp({ providers: [erp.provider] });
const { t } = app;

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  if (!browserAvailable) return;
  await mkdir(ARTIFACTS, { recursive: true });
  await seedCounters(t, ROWS);
  // A resync slow enough to watch: a few milliseconds per chunk of 100.
  let tasks = 0;
  t.app
    .get(EventEmitter2)
    .on(IntegrationEvents.LogInternalTask.Before, async (event: IntegrationTaskEvent) => {
      if (event.task.title.startsWith('Resync') && tasks++ % 100 === 0) await sleep(120);
    });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of (401|400)/.test(message.text()))
      pageErrors.push(message.text());
  });
  await page.goto(`${app.baseUrl}/integration/admin#connectors`);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('dialog', { name: 'Sign in' }).waitFor({ state: 'hidden' });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!browserAvailable)('admin page: resync (R-RES-1, R-RES-3)', () => {
  it('R-RES-1 starts a resync from the Connectors tab and shows its progress bar, refreshing by itself', async () => {
    const row = page.locator('#connectors-table tr[data-connector="Erp"]');
    await row.getByRole('button', { name: 'Resync Erp' }).click();
    const dialog = page.getByRole('dialog', { name: 'Resync ERP system' });
    await dialog.waitFor();

    // A type the connector does not subscribe to: the API's message, in the dialog.
    await dialog.getByLabel('Object type').fill('cms.user');
    await dialog.getByRole('button', { name: 'Start resync' }).click();
    await expect.poll(() => dialog.locator('.form-error').textContent()).toContain('objectType');

    await dialog.getByLabel('Object type').fill('test.counter');
    await dialog.getByLabel('Rows per chunk').fill('100');
    await dialog.getByRole('button', { name: 'Start resync' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const resyncRow = page.locator('#resyncs-table tbody tr').first();
    const bar = resyncRow.locator('progress');
    const value = async () => Number(await bar.getAttribute('value'));
    await expect.poll(value, { timeout: 10_000 }).toBeGreaterThan(5);
    const first = await value();
    expect(first).toBeLessThan(100);
    expect(await resyncRow.getAttribute('data-status')).toBe('running');
    const text = (await resyncRow.textContent()) ?? '';
    expect(text).toContain('test.counter');
    expect(text).toMatch(/of 3,000 rows/);
    expect(text).toMatch(/rows\/s/);
    // The ETA column (the sixth) and the Cancel action, while it runs.
    await expect.poll(() => resyncRow.locator('td').nth(5).textContent()).toMatch(/^\d+ (s|min)/);
    const cancel = resyncRow.getByRole('button', { name: 'Cancel the resync of test.counter for Erp' });
    expect(await cancel.isVisible()).toBe(true);
    await page.locator('#toasts').evaluateAll((boxes) => boxes.forEach((box) => box.replaceChildren()));
    await page.locator('#resyncs').screenshot({ path: join(ARTIFACTS, 'admin-resync-progress.png') });
    await page.screenshot({ path: join(ARTIFACTS, 'admin-resync.png'), fullPage: true });
    // Nobody clicks: the bar moves on its own.
    await expect.poll(value, { timeout: 10_000 }).toBeGreaterThan(first);

    await expect.poll(() => resyncRow.getAttribute('data-status'), { timeout: 30_000 }).toBe('done');
    expect(await value()).toBe(100);
    expect(await resyncRow.textContent()).toContain('3,000 of 3,000 rows');
    expect(await cancel.count()).toBe(0); // nothing to cancel once it is done
    const [queued] = await t.sql<{ n: number }>(
      `select count(*)::int as n from integration_task where title like 'Resync%'`,
    );
    expect(queued!.n).toBe(ROWS);
    expect(pageErrors).toEqual([]);
  });

  it('R-RES-3 "Requeue with current data" requeues a skipped task with the row as it is now', async () => {
    await t.sql(`delete from integration_task`);
    const em = t.em();
    const counter = await em.findOneOrFail(Counter, 1);
    counter.version = 2;
    await em.flush();
    const [task] = await t.sql<{ id: string }>(`select max(id)::text as id from integration_task`);
    erp.control.respond = () => IntegrationProcessResult.ErrorAndSkip;
    await t.bus.processOutgoingTasks('Erp');
    erp.control.respond = () => IntegrationProcessResult.OK;
    await t.sql(`update t_counter set version = 7 where id = 1`); // fixed by hand: no task

    await page.getByRole('tab', { name: 'Outgoing tasks' }).click();
    const panel = page.locator('.panel:not([hidden])');
    await panel.getByRole('button', { name: 'Refresh' }).click();
    await panel.getByLabel('Requeue with current data').check();
    await panel.getByRole('button', { name: `Requeue task ${task!.id}` }).click();
    await expect.poll(() => page.locator('.toast').last().textContent()).toContain('Requeued');

    // The stale task is gone for Erp; a new one carries version 7.
    expect(
      await t.sql(`select * from ${ALL_SYNCHRONIZATIONS_SQL} s where s.task_id = $1`, [task!.id]),
    ).toEqual([]);
    log.length = 0;
    await t.bus.processOutgoingTasks('Erp');
    expect(log.map((c) => (c.task.object as Counter).version)).toEqual([7]);
    expect(pageErrors).toEqual([]);
  });
});
