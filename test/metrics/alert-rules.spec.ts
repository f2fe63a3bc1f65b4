import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * The README's sample alert rules, tested as they are printed there (R-OPS-2): extracted from the
 * README's YAML block, checked by `promtool check rules`, and run against the series of
 * test/metrics/alert-rules.test.yml by `promtool test rules`. promtool comes with Debian's
 * `prometheus` package; CI installs it and sets REQUIRE_PROMTOOL=1, where its absence fails the run.
 */

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const UNIT_TESTS = join(import.meta.dirname, 'alert-rules.test.yml');

const promtool = (process.env.PATH ?? '')
  .split(delimiter)
  .map((dir) => join(dir, 'promtool'))
  .find((path) => existsSync(path));
const available = promtool !== undefined || process.env.REQUIRE_PROMTOOL === '1';

/** The README's alert rules: its YAML block with `groups:`. */
async function readmeRules(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const rules = blocks.filter((block) => /^groups:/m.test(block) && /- alert: /.test(block));
  expect(rules, 'one YAML block of alert rules in README.md').toHaveLength(1);
  return rules[0]!;
}

const alertNames = (text: string, pattern: RegExp) => new Set([...text.matchAll(pattern)].map((m) => m[1]!));

let dir: string;
let rulesFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bus-alert-rules-'));
  rulesFile = join(dir, 'readme-alert-rules.yml');
  await writeFile(rulesFile, await readmeRules());
  await copyFile(UNIT_TESTS, join(dir, 'alert-rules.test.yml'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.runIf(available)('the README alert rules under promtool (R-OPS-2)', () => {
  it('R-OPS-2 promtool check rules accepts the README rules', async () => {
    const { stdout } = await run(promtool ?? 'promtool', ['check', 'rules', rulesFile]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('R-OPS-2 every README alert rule has a promtool unit test', async () => {
    const rules = alertNames(await readFile(rulesFile, 'utf8'), /- alert: (\S+)/g);
    const tested = alertNames(await readFile(UNIT_TESTS, 'utf8'), /alertname: (\S+)/g);
    expect(rules.size).toBeGreaterThanOrEqual(8);
    expect([...rules].filter((name) => !tested.has(name))).toEqual([]);
  });

  it('R-OPS-2 promtool test rules passes, backing off included: it is not "nobody processes"', async () => {
    const tests = await readFile(UNIT_TESTS, 'utf8');
    expect(tests).toMatch(/# Backing off is not "nobody processes"/);
    const result = await run(promtool ?? 'promtool', [
      'test',
      'rules',
      join(dir, 'alert-rules.test.yml'),
    ]).catch((error: { stdout?: string; stderr?: string }) => {
      throw new Error(`promtool test rules failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    });
    expect(result.stdout).toMatch(/SUCCESS/);
  });
});
