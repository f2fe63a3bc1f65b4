import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationProcessResult,
  Subscribe,
  TaskProcessType,
  type BatchOutcome,
} from 'nestjs-integration-bus';
import { User } from '../support/entities.js';
import { recordingConnector } from '../support/recording-connector.js';
import { ADMIN_TOKEN, useManagementApp } from '../management/management-app.js';
import { browserAvailable, launchChromium } from './chromium.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
const search = recordingConnector('Search', [{ objectType: 'cms.user' }], [], {
  displayName: 'Search index',
  ordering: 'object',
  partitions: 4,
  concurrency: 2,
  retry: { initialDelayMs: 600_000, maxDelayMs: 600_000, jitter: false },
});
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], [], { displayName: 'CRM' });
/**
 * A bulk API with a quota that answers 429: it asks the whole connector to pause (R-EXT-2); it takes
 * whole objects, the latest change of each (R-EXT-3), and has a recovery probe.
 */
@Connector('Quota', {
  displayName: 'Quota API',
  maxBatchSize: 50,
  rateLimit: { requests: 20, perMs: 60_000 },
  coalesce: 'latest',
  probeIntervalMs: 30_000,
})
class QuotaConnector extends BaseIntegrationConnector {
  override probe(): Promise<boolean> {
    return Promise.resolve(false);
  }

  @Subscribe({ entity: User, processType: TaskProcessType.AsyncSimpleSnapshot })
  users(): BatchOutcome {
    return {
      result: IntegrationProcessResult.Error,
      errorMessage: 'HTTP 429',
      retryAfterMs: 600_000,
      pauseConnector: true,
    };
  }
}
/** A bulk API taking two requests at once (R-EXT-1): nothing is queued for it here. */
const bulk = recordingConnector('Bulk', [{ objectType: 'cms.order' }], [], {
  maxBatchSize: 20,
  maxCallsInFlight: 2,
});
const app = useManagementApp({ providers: [search.provider, crm.provider, QuotaConnector, bulk.provider] });
const { t } = app;

let browser: Browser;
const pageErrors: string[] = [];

async function newPage(width: number): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 860 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 401/.test(message.text())) pageErrors.push(message.text());
  });
  await page.goto(`${app.baseUrl}/integration/admin#connectors`);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('dialog', { name: 'Sign in' }).waitFor({ state: 'hidden' });
  return page;
}

beforeAll(async () => {
  if (!browserAvailable) return;
  await mkdir(ARTIFACTS, { recursive: true });
  // Three users changed twice; the search index refuses `stuck`: its first change fails, the second
  // waits behind it, the other users go through.
  const em = t.em();
  const users = ['stuck', 'ok1', 'ok2'].map((userName) => em.create(User, { userName, email: 'v1' }));
  await em.flush();
  for (const user of users) user.email = 'v2';
  await em.flush();
  search.control.respond = (task) =>
    (task.object as User).userName === 'stuck'
      ? { result: IntegrationProcessResult.Error, errorMessage: 'index rejected stuck: HTTP 400' }
      : IntegrationProcessResult.OK;
  await t.bus.processOutgoingTasks('Search');
  await t.bus.processOutgoingTasks('Quota');
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!browserAvailable)('admin page: partitions of a connector (R-ORD-1..3)', () => {
  it('shows each connector’s ordering, batch size, pace and pause (R-EXT-1, R-EXT-2), its partitions, and the objects a failed task holds back', async () => {
    for (const width of [1360, 420]) {
      const page = await newPage(width);
      const searchRow = page.locator('#connectors-table tr[data-connector="Search"]');
      await searchRow.waitFor();
      expect(await searchRow.textContent()).toContain('Per object · 4 partitions');
      const crmRow = await page.locator('#connectors-table tr[data-connector="Crm"]').textContent();
      expect(crmRow).toContain('One FIFO');
      expect(crmRow).toContain('One task per call');
      expect(crmRow).not.toMatch(/Paused|Latest|Probed/);
      // Batch size, pace and pause of a connector (R-EXT-1, R-EXT-2).
      const quotaRow = page.locator('#connectors-table tr[data-connector="Quota"]');
      expect(await quotaRow.textContent()).toContain(
        'Batches of ≤ 50 · 20 calls / 1 min · Latest change only · Probed every 30 s',
      );
      expect(await quotaRow.locator('.warn-mark').textContent()).toMatch(/^Paused until in (9|10) min/);
      expect(await page.locator('#connectors-table tr[data-connector="Bulk"]').textContent()).toContain(
        'Batches of ≤ 20, 2 at once',
      );

      await searchRow.getByRole('button', { name: 'Partitions of Search' }).click();
      const dialog = page.getByRole('dialog', { name: 'Partitions of Search index' });
      await dialog.waitFor();
      const tables = dialog.locator('table');
      const partitionRows = tables.nth(0).locator('tbody tr');
      await expect.poll(() => partitionRows.count()).toBe(4);
      const [stuck] = await t.sql<{ id: string; partition: number; title: string }>(
        `select t.id, s.partition, t.title from integration_task t
           join ${ALL_SYNCHRONIZATIONS_SQL} s on s.task_id = t.id
           join integration_connector c on c.id = s.connector_id
          where c.code_name = 'Search' and s.state = 'failed'`,
      );
      const blocked = tables.nth(1).locator('tbody tr');
      expect(await blocked.count()).toBe(1);
      const cells = await blocked.first().locator('td').allTextContents();
      expect(cells[1]).toBe(String(stuck!.partition));
      expect(cells[2]).toBe(`${stuck!.id} ${stuck!.title}`);
      expect(cells[3]).toBe('index rejected stuck: HTTP 400');
      expect(cells[5]).toBe('1');
      expect(
        await partitionRows
          .nth(stuck!.partition - 1)
          .locator('td')
          .allTextContents(),
      ).toEqual([String(stuck!.partition), 'nobody', '', '2', '1']);
      await page.screenshot({ path: join(ARTIFACTS, `admin-partitions-${width}.png`), fullPage: true });

      // The failed task opens in the task dialog.
      await blocked.first().getByRole('button').click();
      const detail = page.getByRole('dialog', { name: /Task detail/ });
      await detail.waitFor();
      expect(await detail.textContent()).toContain('index rejected stuck: HTTP 400');
      await page.close();
    }
    expect(pageErrors).toEqual([]);
  });
});
