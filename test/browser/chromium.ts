import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, installed by `.ci/run` (`apt-get install -y chromium`). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Whether browser tests can run here. Without Chromium they are skipped, unless
 * `REQUIRE_BROWSER=1` (as in CI), where its absence must fail the run.
 */
export const browserAvailable = existsSync(CHROMIUM) || process.env.REQUIRE_BROWSER === '1';

/**
 * Launches headless Chromium with the flags that work on the project's machines (STACK.md,
 * "Browser tests"). Playwright gives each launch a fresh temporary profile (`--user-data-dir`).
 * Without the background-networking flags Chromium floods the closed network with refused
 * connections.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
