import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'pg';
import type { ExternalBusVariant } from '../external/bus-connectors.js';
import { startFakeService, waitForRecords, type ServiceRecord } from '../external/service-client.js';
import type { PreparedPeer } from '../external/peers.js';
import { prepareSerialCeiling } from '../external/serial-ceiling.js';
import type { MeasureJob, MeasureResult } from './job.js';
import { waitUntilZero } from './wait.js';

const WORKER = fileURLToPath(new URL('../external-worker.js', import.meta.url));

/** The subjects of the `external` scenario. */
export type ExternalSubject =
  | 'one-task'
  | 'batch'
  | 'batch-object'
  | 'batch-3-instances'
  | 'gw-batch'
  | 'pg-boss-batch'
  | 'serial-ceiling';

/** The subjects that are not the bus: the peers and the reference loop. */
type OtherSubject = 'gw-batch' | 'pg-boss-batch' | 'serial-ceiling';

/** What each bus instance of the scenario is started with (JSON in argv). */
export interface ExternalWorkerConfig {
  databaseUrl: string;
  serviceUrl: string;
  variant: ExternalBusVariant;
  /** Write the changes before saying `ready` (the first instance). */
  seed: { objects: number; versions: number } | null;
  /** Switch processing on at `go` (the first instance; the bus tells the others). */
  switchOn: boolean;
  /** Wait a membership lease before `ready`, so that the instances know of each other. */
  waitForPeers: boolean;
}

/** Gives up on a run whose records have not all reached the service by then. */
const TIMEOUT_MS = 600_000;

/**
 * The changes every subject delivers, in the order they were made: `versions` rounds, each changing
 * every object once (round-robin, so a batch of 100 holds 100 different objects). The bus's
 * versions are its tasks' `sequence`; the peers' jobs carry these.
 */
export function plannedChanges(objects: number, versions: number): ServiceRecord[] {
  const records: ServiceRecord[] = [];
  for (let v = 1; v <= versions; v++) {
    for (let key = 1; key <= objects; key++) records.push({ key, version: v });
  }
  return records;
}

/**
 * SPEC §10 / §14 throughput to an external system: `objects × versions` changes queued (not timed),
 * then delivered to the fake service (20 ms per request, at most 100 records per request, 50
 * requests/s). The service keeps the clock, from its reset right before processing starts until
 * every (key, version) pair has reached it (or `timeLimitMs`), and counts requests per second and
 * versions that arrived after a newer one of their object.
 */
export async function measureExternal(
  databaseUrl: string,
  job: Omit<Extract<MeasureJob, { kind: 'external' }>, 'kind'>,
): Promise<MeasureResult> {
  const expected = job.objects * job.versions;
  const service = await startFakeService();
  try {
    // The peers' modules are loaded only for them (see child.ts).
    const peers =
      isBusSubject(job.subject) || job.subject === 'serial-ceiling'
        ? null
        : await import('../external/peers.js');
    const changes = (): ServiceRecord[] => plannedChanges(job.objects, job.versions);
    const subject = isBusSubject(job.subject)
      ? await prepareBus(databaseUrl, service.url, job.subject, job)
      : job.subject === 'serial-ceiling'
        ? prepareSerialCeiling(service.url, changes())
        : job.subject === 'gw-batch'
          ? await peers!.prepareGraphileBatch(databaseUrl, service.url, changes())
          : await peers!.preparePgBossBatch(databaseUrl, service.url, changes());
    try {
      await service.reset(expected);
      await subject.go();
      const stats = await waitForRecords(service, { timeLimitMs: job.timeLimitMs, timeoutMs: TIMEOUT_MS });
      const notes = await subject.finish(stats.completedMs !== null);
      const ms = stats.completedMs ?? stats.elapsedMs;
      return {
        values: {
          seconds: ms / 1000,
          recordsPerSecond: (stats.distinctRecords / ms) * 1000,
          requestsPerSecond: (stats.requests / ms) * 1000,
          maxRequestsInAnySecond: stats.maxRequestsInAnySecond,
          outOfOrder: stats.outOfOrder,
          duplicates: stats.duplicates,
          rejected429: stats.rejected429,
        },
        notes: { service: stats, timeLimited: stats.completedMs === null, ...notes },
      };
    } finally {
      await subject.close();
    }
  } finally {
    service.stop();
  }
}

function isBusSubject(subject: ExternalSubject): subject is Exclude<ExternalSubject, OtherSubject> {
  return subject !== 'gw-batch' && subject !== 'pg-boss-batch' && subject !== 'serial-ceiling';
}

const VARIANTS: Record<Exclude<ExternalSubject, OtherSubject>, [ExternalBusVariant, number]> = {
  'one-task': ['one-task', 1],
  batch: ['batch', 1],
  'batch-object': ['batch-object', 1],
  'batch-3-instances': ['batch-rate-limited', 3],
};

/**
 * The bus's subjects: `instances` separate processes (`external-worker.js`), the first writing the
 * changes through MikroORM before the others start; `go` switches processing on.
 */
async function prepareBus(
  databaseUrl: string,
  serviceUrl: string,
  subject: Exclude<ExternalSubject, OtherSubject>,
  job: { objects: number; versions: number },
): Promise<PreparedPeer> {
  const [variant, instances] = VARIANTS[subject];
  const workers: { child: ChildProcess; lines: AsyncIterator<string> }[] = [];
  const stopAll = (): void => {
    for (const { child } of workers) if (child.exitCode === null) child.kill('SIGTERM');
  };
  try {
    for (let i = 0; i < instances; i++) {
      const config: ExternalWorkerConfig = {
        databaseUrl,
        serviceUrl,
        variant,
        seed: i === 0 ? { objects: job.objects, versions: job.versions } : null,
        switchOn: i === 0,
        waitForPeers: instances > 1,
      };
      const child = spawn(process.execPath, [...profiling(i), WORKER, JSON.stringify(config)], {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { ...process.env, BENCH_PROFILE_WINDOW: profiledWindow(i) ?? '' },
      });
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      workers.push({ child, lines });
      await expectLine(lines, 'ready');
    }
  } catch (error) {
    stopAll();
    throw error;
  }
  return {
    go: async () => {
      for (const { child } of workers) child.stdin!.write('go\n');
    },
    finish: async (completed) => {
      if (completed) {
        // Every task answered OK is gone from the queue once its run has written it.
        const client = new Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          await waitUntilZero(client, 'select count(*)::int as n from integration_task', 30_000);
        } finally {
          await client.end();
        }
      }
      for (const { child } of workers) child.stdin!.write('stop\n');
      const perInstance = await Promise.all(workers.map(({ lines }) => expectLine(lines, 'done')));
      return { perInstance: perInstance.map((line) => JSON.parse(line) as unknown) };
    },
    close: async () => {
      // A profiled worker writes its profile as it exits: it is given the time to.
      if (process.env.BENCH_PROFILE_WINDOW)
        await Promise.all(workers.map(({ child }) => exited(child, 10_000)));
      stopAll();
    },
  };
}

/**
 * When this run is profiled (`--profile`), each instance is profiled too: `<run>-worker<i>.cpuprofile`
 * beside the run's own profile, with its measured section (from `go` to `stop`) in a window file.
 */
function profiledWindow(instance: number): string | undefined {
  const runWindow = process.env.BENCH_PROFILE_WINDOW;
  return runWindow
    ? runWindow.replace(/\.cpuprofile\.window\.json$/, `-worker${instance}.cpuprofile.window.json`)
    : undefined;
}

function profiling(instance: number): string[] {
  const window = profiledWindow(instance);
  if (!window) return [];
  const profile = window.replace(/\.window\.json$/, '');
  return ['--cpu-prof', `--cpu-prof-dir=${dirname(profile)}`, `--cpu-prof-name=${basename(profile)}`];
}

function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Reads lines until one starts with `word` (other output is let through); returns the rest of it. */
async function expectLine(reader: AsyncIterator<string>, word: string): Promise<string> {
  for (;;) {
    const next = await reader.next();
    if (next.done) throw new Error(`An external-scenario worker ended before saying "${word}".`);
    if (next.value.startsWith(word)) return next.value.slice(word.length).trim();
    console.log(`  worker: ${next.value}`);
  }
}
