import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

/** The repository root: the child processes run the built apps from there. */
export const ROOT = resolve(import.meta.dirname, '../..');
const DEMO_MAIN = 'apps/demo/dist/main.js';
const PRODUCER_MAIN = 'apps/producer/dist/producer/src/main.js';

/** Every child process started, so that `killAll` can leave none behind. */
const children = new Set<ChildProcess>();

/** Builds the library, the demo and the producer as `npm run build` does (incremental). */
export async function buildApps(): Promise<void> {
  await promisify(execFile)(
    'npx',
    ['tsc', '-b', 'apps/demo/tsconfig.build.json', 'apps/producer/tsconfig.build.json'],
    { cwd: ROOT },
  );
}

/** A demo host app running in a process of its own. */
export interface HostProcess {
  child: ChildProcess;
  /** e.g. `http://localhost:41234` */
  url: string;
  /** What it printed so far, stdout and stderr. */
  output(): string;
  /** SIGTERM, then the exit code once it has exited. */
  stop(): Promise<number | null>;
}

/**
 * Starts `node apps/demo/dist/main.js` on `databaseUrl` and a free port (`PORT=0`), and resolves
 * once it prints where it listens.
 */
export function startHost(databaseUrl: string, env: Record<string, string> = {}): Promise<HostProcess> {
  const child = spawn(process.execPath, [DEMO_MAIN], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return new Promise<HostProcess>((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(new Error(`The demo did not start within 60 s:\n${output}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Demo API:\s+(http:\/\/\S+?)\/api\b/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveStart({
          child,
          url: match[1]!,
          output: () => output,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      rejectStart(new Error(`The demo exited (${code}) before it listened:\n${output}`));
    });
  });
}

/** What a finished producer run printed, and its exit code. */
export interface ProducerRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node apps/producer/dist/producer/src/main.js …args` to the end. */
export function runProducer(args: string[], env: Record<string, string>): Promise<ProducerRun> {
  const child = spawn(process.execPath, [PRODUCER_MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((done) => child.once('exit', (code) => done({ code, stdout, stderr })));
}

/** Kills whatever child process is still running. */
export function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
