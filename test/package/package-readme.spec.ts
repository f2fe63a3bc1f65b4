import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

type PackageReadme = (
  readme: string,
  repositoryUrl: string,
  isDirectory: (path: string) => boolean,
) => string;

const repository = join(import.meta.dirname, '..', '..');
const scriptPath = join(repository, 'libs/integration-bus/scripts/package-markdown.mjs');
const isDirectory = (path: string) => statSync(join(repository, path)).isDirectory();

async function loadPackageReadme(): Promise<PackageReadme> {
  const module = (await import(scriptPath)) as { packageMarkdown: PackageReadme };
  return module.packageMarkdown;
}

describe('the README that ships in the package', () => {
  it('speaks to users: no rule ids, no SPEC.md, links to repository files made absolute', async () => {
    const packageReadme = await loadPackageReadme();
    const readme = readFileSync(join(repository, 'README.md'), 'utf8');
    expect(readme).toMatch(/R-[A-Z]+-\d+/); // the repository's README does cite rules
    const shipped = packageReadme(readme, 'https://github.com/owner/repo', isDirectory);
    expect(shipped).not.toMatch(/R-[A-Z]+-\d+/);
    expect(shipped).not.toContain('SPEC.md');
    expect(shipped).not.toContain('repository-only');
    const relative = [...shipped.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!)
      .filter((target) => !/^(https?:|#|mailto:)/.test(target));
    expect(relative).toEqual([]);
    expect(shipped).toContain('](https://github.com/owner/repo/tree/main/examples/account-sync)');
    expect(shipped).toContain('](https://github.com/owner/repo/blob/main/LICENSE)');
    // The text around a removed id still reads: "Parking (opt-in with …)".
    expect(shipped).toContain('**Parking** (opt-in with `retry.maxAttempts`)');
    expect(shipped).toContain('## Quick start: from an empty Nest app to a working connector');
    // What only a clone of the repository has: its demo, its producer app, working on it.
    expect(shipped).not.toMatch(/Try it from a clone|Working on this repository|apps\/producer/);
  });

  it('refuses to ship a link to a section the shipped README does not have', async () => {
    const packageReadme = await loadPackageReadme();
    const readme =
      '## Usage\n\nSee [usage](#usage) and [the demo](#the-demo).\n\n' +
      '<!-- repository-only -->\n\n## The demo\n\nRun it.\n\n<!-- /repository-only -->\n';
    expect(() => packageReadme(readme, 'https://x', () => false)).toThrow(
      /links to sections it does not have: #the-demo/,
    );
    const kept = readme.replace(/<!-- \/?repository-only -->\n/g, '');
    expect(packageReadme(kept, 'https://x', () => false)).toContain('[the demo](#the-demo)');
  });

  it('the CHANGELOG that ships says no more of the repository than the README', async () => {
    const packageReadme = await loadPackageReadme();
    const changelog = readFileSync(join(repository, 'libs/integration-bus/CHANGELOG.md'), 'utf8');
    const shipped = packageReadme(changelog, 'https://github.com/owner/repo', isDirectory);
    expect(shipped).not.toMatch(/R-[A-Z]+-\d+|\bSPEC\b/);
    expect(shipped).toContain('## 0.1.0');
  });

  it('refuses to ship a rule id it cannot take out cleanly', async () => {
    const packageReadme = await loadPackageReadme();
    expect(() => packageReadme('See R-DEL-2 for why.\n', 'https://x', () => false)).toThrow(
      /a rule id is left in "See R-DEL-2 for why\."/,
    );
  });
});
