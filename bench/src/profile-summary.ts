import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';

/*
 * Summarises `.cpuprofile` files written by `npm run bench -- --profile`: self time per function
 * (file:line function), and self time per package or library folder, as % of the sampled time.
 *   node bench/dist/profile-summary.js bench/results/profiles/<stamp>/throughput-bus-run1.cpuprofile [top]
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const ROOT = process.cwd();

/** Where a frame's code lives: the bus's own files by path, packages by name. */
function locate(url: string): { file: string; group: string } {
  if (!url) return { file: '(native)', group: '(native / V8)' };
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  if (path.startsWith('node:')) return { file: path, group: 'node core' };
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = path.slice(modules + '/node_modules/'.length).split('/');
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return { file: `${pkg}/${rest.slice(pkg.split('/').length).join('/')}`, group: pkg };
  }
  const file = relative(ROOT, path);
  const lib = /^libs\/integration-bus\/dist\/([^/]+)\//.exec(file);
  return { file, group: lib ? `nestjs-integration-bus/${lib[1]}` : file };
}

/** The measured section the child recorded beside the profile, if any. */
async function windowOf(file: string): Promise<{ startMicros: number; endMicros: number } | undefined> {
  try {
    return JSON.parse(await readFile(`${file}.window.json`, 'utf8')) as {
      startMicros: number;
      endMicros: number;
    };
  } catch {
    return undefined;
  }
}

async function summarise(file: string, top: number): Promise<void> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const window = await windowOf(file);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMicros = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.startMicros || at > window.endMicros)) return;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta);
  });
  const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);
  const functions = new Map<string, number>();
  const groups = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const { callFrame } = byId.get(id)!;
    const where = locate(callFrame.url);
    const name = callFrame.functionName || '(anonymous)';
    const key = callFrame.url ? `${where.file}:${callFrame.lineNumber + 1} ${name}` : name;
    functions.set(key, (functions.get(key) ?? 0) + micros);
    groups.set(where.group, (groups.get(where.group) ?? 0) + micros);
  }
  const pct = (micros: number): string => `${((micros / total) * 100).toFixed(1).padStart(5)}%`;
  const idle = functions.get('(idle)') ?? 0;
  const scope = window ? 'the measured section' : 'the whole process (no window file)';
  console.log(`${file}\n  ${scope}: sampled ${(total / 1e6).toFixed(2)} s, of which idle ${pct(idle)}`);
  console.log('  self time by function:');
  for (const [key, micros] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`    ${pct(micros)}  ${key}`);
  }
  console.log('  self time by package / library folder:');
  for (const [key, micros] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`    ${pct(micros)}  ${key}`);
  }
}

const args = process.argv.slice(2);
const top = Number(args.find((a) => /^\d+$/.test(a)) ?? 25);
const files = args.filter((a) => !/^\d+$/.test(a));
if (files.length === 0) {
  console.error('Usage: node bench/dist/profile-summary.js <file.cpuprofile>… [top]');
  process.exitCode = 1;
}
for (const file of files) await summarise(file, top);
