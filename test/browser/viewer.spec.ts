import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { User } from '../support/entities.js';
import { recordingConnector } from '../support/recording-connector.js';
import { ADMIN_TOKEN, useManagementApp } from '../management/management-app.js';
import { browserAvailable, launchChromium } from './chromium.js';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
const VIEWER_TOKEN = 'viewer-secret-token';
const crm = recordingConnector('Crm', [{ objectType: 'cms.user' }], [], { displayName: 'CRM' });
const app = useManagementApp({ providers: [crm.provider], bus: { http: { viewerToken: VIEWER_TOKEN } } });
const { t } = app;

let browser: Browser;
let page: Page;
/** Script errors and failed requests of the page, but for the 401s of the sign-in. */
const pageErrors: string[] = [];

async function signIn(token: string): Promise<void> {
  await page.goto(`${app.baseUrl}/integration/admin#outgoing`);
  await page.evaluate(() => sessionStorage.clear());
  await page.reload();
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('dialog', { name: 'Sign in' }).waitFor({ state: 'hidden' });
  await page.locator('table.tasks tbody tr').first().waitFor();
}

/** How many elements match `selector` and are visible. */
const visible = (selector: string) => page.locator(`${selector}:visible`).count();

/** What a viewer must not be offered, counted where it is visible. */
async function visibleActions(): Promise<Record<string, number>> {
  return {
    taskActions:
      (await visible('.panel:not([hidden]) td.actions .sync')) +
      (await visible('.panel:not([hidden]) td.actions .delete')),
    selection: await visible('.panel:not([hidden]) td.check input'),
    bulk: await visible('.panel:not([hidden]) .bulk'),
  };
}

beforeAll(async () => {
  if (!browserAvailable) return;
  await mkdir(ARTIFACTS, { recursive: true });
  const em = t.em();
  for (const userName of ['ada', 'grace']) em.create(User, { userName });
  await em.flush();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 401/.test(message.text())) pageErrors.push(message.text());
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!browserAvailable)('admin page for a viewer (R-OPS-2)', () => {
  it('R-OPS-2 shows the viewer role and the data, without its actions', async () => {
    await signIn(VIEWER_TOKEN);
    expect(await page.locator('#role-badge').textContent()).toBe('Viewer · read-only');
    expect(await page.locator('table.tasks tbody tr:visible').count()).toBe(2);
    expect(await visibleActions()).toEqual({ taskActions: 0, selection: 0, bulk: 0 });
    await page.screenshot({ path: join(ARTIFACTS, 'admin-viewer-outgoing.png'), fullPage: true });

    await page.getByRole('tab', { name: 'Connectors' }).click();
    await page.locator('#connectors-table tbody tr').first().waitFor();
    expect(await page.locator('#new-connector').isVisible()).toBe(false);
    expect(await page.locator('#connectors-table .edit:visible').count()).toBe(0);
    expect(await page.getByRole('switch', { name: 'Enable Crm' }).isDisabled()).toBe(true);

    await page.getByRole('tab', { name: 'Settings' }).click();
    const switches = page.locator('#settings-list input[role=switch]');
    await switches.first().waitFor();
    expect(
      await switches.evaluateAll((inputs) =>
        inputs.map((i) => (i as unknown as { disabled: boolean }).disabled),
      ),
    ).toEqual([true, true, true, true, true]);
  });

  it('R-OPS-2 shows the admin role and every action with the admin token', async () => {
    await signIn(ADMIN_TOKEN);
    expect(await page.locator('#role-badge').textContent()).toBe('Admin');
    expect(await visibleActions()).toEqual({ taskActions: 4, selection: 2, bulk: 1 });
  });

  it('ran without a script error or a refused request', () => {
    expect(pageErrors).toEqual([]);
  });
});
