#!/usr/bin/env node
// Builds the package, and prepares or restores it around `npm pack` / `npm publish`.
//
//   node scripts/build.mjs            dist/ for the monorepo (with source maps, like the apps)
//   node scripts/build.mjs --pack     prepack: a clean dist/ without source maps (they would point
//                                     at sources the package does not ship), the repository's
//                                     README and CHANGELOG made into the package's
//                                     (package-markdown.mjs), and package.json without its `source`
//                                     export conditions (they point at src/, which is not shipped)
//   node scripts/build.mjs --restore  postpack: package.json and the directory as they were
//
// The `source` conditions let the monorepo's tests and type check read src/ directly (vitest
// `resolve.conditions`, tsconfig `customConditions`); outside the monorepo they must not exist.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageMarkdown } from './package-markdown.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = join(root, 'package.json');
const backup = join(root, '.package.monorepo.json');
const readme = join(root, 'README.md');
const changelog = join(root, 'CHANGELOG.md');
const changelogBackup = join(root, '.CHANGELOG.monorepo.md');
const mode = process.argv[2] ?? '--build';

/** Puts back the package.json saved by a previous --pack (also after a pack that failed). */
function restore() {
  if (existsSync(backup)) renameSync(backup, manifest);
  if (existsSync(changelogBackup)) renameSync(changelogBackup, changelog);
  rmSync(readme, { force: true });
}

/** Runs tsc on `project` (the server's tsconfig.build.json, or the admin page's tsconfig.client.json). */
function tscProject(project, ...args) {
  let bin;
  try {
    bin = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    console.error('TypeScript is not installed: run `npm ci` at the repository root first.');
    process.exit(1);
  }
  execFileSync(process.execPath, [bin, '-p', join(root, project), ...args], { stdio: 'inherit' });
}

/** The server's modules, then the admin page's browser modules (served from dist as files). */
function tsc(...args) {
  tscProject('tsconfig.build.json', ...args);
  // No maps or shipped declarations there in any mode (see tsconfig.client.json).
  tscProject('tsconfig.client.json');
}

/** Removes the `source` condition from every entry of an exports map. */
function withoutSource(exportsMap) {
  return Object.fromEntries(
    Object.entries(exportsMap).map(([entry, target]) => {
      if (typeof target !== 'object' || target === null) return [entry, target];
      const { source: _source, ...rest } = target;
      return [entry, rest];
    }),
  );
}

switch (mode) {
  case '--build':
    tsc();
    break;
  case '--pack': {
    restore();
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    rmSync(join(root, '.tsbuildinfo'), { force: true });
    rmSync(join(root, '.client.tsbuildinfo'), { force: true });
    tsc('--sourceMap', 'false', '--declarationMap', 'false');
    // The build info must not claim an up-to-date build with maps for the monorepo's `tsc -b`.
    rmSync(join(root, '.tsbuildinfo'), { force: true });
    rmSync(join(root, '.client.tsbuildinfo'), { force: true });
    const original = readFileSync(manifest, 'utf8');
    const pkg = JSON.parse(original);
    const repositoryUrl = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
    const repository = join(root, '..', '..');
    const isDirectory = (path) => statSync(join(repository, path)).isDirectory();
    const repositoryReadme = readFileSync(join(repository, 'README.md'), 'utf8');
    writeFileSync(readme, packageMarkdown(repositoryReadme, repositoryUrl, isDirectory));
    const repositoryChangelog = readFileSync(changelog, 'utf8');
    writeFileSync(changelogBackup, repositoryChangelog);
    writeFileSync(changelog, packageMarkdown(repositoryChangelog, repositoryUrl, isDirectory));
    writeFileSync(backup, original);
    pkg.exports = withoutSource(pkg.exports);
    writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
    break;
  }
  case '--restore':
    restore();
    break;
  default:
    console.error(`Unknown mode ${mode}: use --pack, --restore or nothing.`);
    process.exit(2);
}
