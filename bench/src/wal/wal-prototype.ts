import { writeFile, mkdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { ChangeLogStore } from '../../../libs/integration-bus/dist/persistence/change-log.store.js';
import { BusDatabase } from '../../../libs/integration-bus/dist/persistence/bus-database.js';
import { BenchUser } from '../host/bench-user.entity.js';
import { startHost, type HostApp } from '../host/host-app.js';
import { connectorNames } from '../host/noop-connector.js';
import { createDatabase, startServer } from '../support/postgres.js';
import { median, percentile } from '../support/stats.js';
import { setWalCapture } from './wal-capture.js';
import { prepareWalCapture, slotLag, WalReader } from './wal-reader.js';

/*
 * PROTOTYPE (issue 25): WAL capture measured beside today's mode, on one embedded PostgreSQL with
 * `wal_level = logical`, in one process (`node bench/dist/wal/wal-prototype.js [rounds] [downSeconds]`):
 * 1. the flush of one insert and of 1,000 inserts: without the bus, with the bus writing task rows
 *    (today), with the bus emitting a WAL message (the reader running, as in production);
 * 2. the latency from a flush's commit to its task being queued by the reader, at 500 flushes/s;
 * 3. the reader down for `downSeconds` while flushes go on at 200/s: the slot's lag and retained WAL,
 *    then the catch-up, and whether every change was queued exactly once.
 */

/** `wal-reader-off`: the flushes timed with the reader stopped (the transaction's own cost), then it catches up. */
type Mode = 'without-bus' | 'table' | 'wal' | 'wal-reader-off';

const ONE_FLUSHES = 1000;
const ONE_WARMUP = 100;
const BULK_FLUSHES = 10;
const BULK_WARMUP = 3;

async function flushTimes(host: HostApp, entities: number, flushes: number, warmup: number, tag: string) {
  const times: number[] = [];
  for (let round = 0; round < warmup + flushes; round++) {
    const em = host.orm.em.fork();
    for (let i = 0; i < entities; i++) {
      em.create(BenchUser, { userName: `${tag}-${round}-${i}`, email: 'user@example.com' });
    }
    const start = performance.now();
    await em.flush();
    if (round >= warmup) times.push(performance.now() - start);
  }
  return { ms: median(times), p99Ms: percentile(times, 99) };
}

async function count(url: string, sql: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql)).rows[0]!.n);
  } finally {
    await client.end();
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - start;
}

/** Flushes one insert every `1000 / rate` ms for `seconds` (open loop); returns commit times by user name. */
async function produce(
  host: HostApp,
  rate: number,
  seconds: number,
  tag: string,
  committed?: Map<string, number>,
) {
  const total = rate * seconds;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const name = `${tag}-${i}`;
    inFlight.push(
      (async () => {
        const em = host.orm.em.fork();
        em.create(BenchUser, { userName: name, email: 'user@example.com' });
        await em.flush();
        committed?.set(name, performance.now());
      })(),
    );
    if (inFlight.length > 16) await inFlight.shift();
  }
  await Promise.all(inFlight);
  return total;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const downSeconds = Number(process.argv[3] ?? 60);
  const server = await startServer({
    embedded: true,
    postgresFlags: ['-c', 'wal_level=logical', '-c', 'max_replication_slots=8', '-c', 'max_wal_senders=8'],
  });
  const results: Record<string, unknown> = { rounds, downSeconds, flush: [] as unknown[] };
  const flushes = results.flush as unknown[];
  try {
    for (let round = 1; round <= rounds; round++) {
      const modes: Mode[] = ['without-bus', 'table', 'wal', 'wal-reader-off'];
      const order = [...modes.slice(round % modes.length), ...modes.slice(0, round % modes.length)];
      for (const mode of order) {
        const db = await createDatabase(server.url, `wal_${mode}`);
        const wal = mode === 'wal' || mode === 'wal-reader-off';
        if (wal) await prepareWalCapture(db.url);
        setWalCapture(wal);
        const host = await startHost({
          databaseUrl: db.url,
          withBus: mode !== 'without-bus',
          connectors: connectorNames(1),
        });
        let reader: WalReader | undefined;
        try {
          if (wal) {
            reader = new WalReader(db.url, host.app.get(ChangeLogStore), host.app.get(BusDatabase), {
              maxBatch: 500,
              maxDelayMs: 2,
            });
            if (mode === 'wal') await reader.start();
          }
          const one = await flushTimes(host, 1, ONE_FLUSHES, ONE_WARMUP, 'one');
          const bulk = await flushTimes(host, 1000, BULK_FLUSHES, BULK_WARMUP, 'bulk');
          const entry: Record<string, unknown> = { round, mode, one, bulk };
          if (mode === 'wal-reader-off') await reader!.start();
          if (mode !== 'without-bus') {
            const expected = ONE_FLUSHES + ONE_WARMUP + 1000 * (BULK_FLUSHES + BULK_WARMUP);
            const drained = await waitFor(
              async () => (await count(db.url, 'select count(*) as n from integration_task')) >= expected,
              120_000,
            );
            entry.queuedAll = { expected, msAfterLastFlush: Math.round(drained) };
          }
          if (mode === 'wal' && reader) {
            // Latency commit → queued, at 500 flushes/s.
            const committed = new Map<string, number>();
            const latencies: number[] = [];
            const queuedAt = new Map<string, number>();
            const probe = new WalReader(db.url, host.app.get(ChangeLogStore), host.app.get(BusDatabase), {
              maxBatch: 500,
              maxDelayMs: 2,
              onQueued: (tasks, at) => {
                for (const t of tasks) queuedAt.set(String(t.data.fields.userName), at);
              },
            });
            await reader.stop();
            reader = probe;
            await probe.start();
            const produced = await produce(host, 500, 10, `lat${round}`, committed);
            await waitFor(async () => queuedAt.size >= produced, 60_000);
            for (const [name, at] of committed) latencies.push(queuedAt.get(name)! - at);
            entry.latency = {
              produced,
              p50Ms: median(latencies),
              p99Ms: percentile(latencies, 99),
              maxMs: Math.max(...latencies),
              batches: probe.batches,
            };
            if (round === 1 && downSeconds > 0)
              entry.readerDown = await readerDown(host, db.url, probe, downSeconds);
          }
          flushes.push(entry);
          console.log(JSON.stringify(entry));
        } finally {
          if (reader) await reader.stop().catch(() => {});
          setWalCapture(false);
          await host.close();
          await db.drop();
        }
      }
    }
  } finally {
    await server.stop();
  }
  await mkdir('bench/results', { recursive: true });
  const file = `bench/results/wal-prototype-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  await writeFile(file, JSON.stringify(results, null, 2));
  console.log(`Results written to ${file}`);
}

/** The reader stopped for `seconds` while changes go on at 200/s; then started again. */
async function readerDown(host: HostApp, url: string, reader: WalReader, seconds: number) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const before = await count(url, 'select count(*) as n from integration_task');
    await reader.stop();
    const samples: { s: number; lagBytes: number; retainedBytes: number }[] = [];
    const start = performance.now();
    const sampler = setInterval(() => {
      void slotLag(client).then((lag) =>
        samples.push({ s: Math.round((performance.now() - start) / 1000), ...lag }),
      );
    }, 5000);
    const produced = await produce(host, 200, seconds, 'down');
    clearInterval(sampler);
    const queuedWhileDown = (await count(url, 'select count(*) as n from integration_task')) - before;
    const lagAtRestart = await slotLag(client);
    const restart = performance.now();
    await reader.start();
    const catchUpMs = await waitFor(
      async () => (await count(url, 'select count(*) as n from integration_task')) >= before + produced,
      300_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    const total = await count(url, 'select count(*) as n from integration_task');
    const distinct = await count(url, 'select count(distinct guid) as n from integration_task');
    const downRows = await count(
      url,
      `select count(*) as n from integration_task where title like '%''down-%'`,
    );
    return {
      produced,
      queuedWhileDown,
      lagAtRestart,
      samples,
      catchUpMs: Math.round(catchUpMs),
      restartToCaughtUpMs: Math.round(performance.now() - restart),
      downRowsQueued: downRows,
      duplicates: total - distinct,
      lagAfter: await slotLag(client),
    };
  } finally {
    await client.end();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
