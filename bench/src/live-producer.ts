import { LockMode } from '@mikro-orm/core';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { BenchItem } from './host/bench-item.entity.js';
import { startHost } from './host/host-app.js';
import { LIVE_CONNECTORS, LIVE_POOL_MAX, liveConnector } from './live/live-connectors.js';
import type { LiveProducerConfig, LiveProducerReport } from './measure/live-ordering.js';

/*
 * The application side of the live-ordering scenario: a host with the bus logging but not
 * processing (processOutgoing off, no after-commit run, no sweep), with the same connectors
 * declared, so its commits queue their tasks (in their partitions) and signal the instances.
 * On `go`, `lanes` concurrent loops each commit single-object transactions on a random item (its row
 * locked FOR UPDATE, `version + 1`, flushed) one after the other for `durationMs`. Prints `ready`,
 * then `done {…}` (a `LiveProducerReport`); exits on `stop`.
 */
const config = JSON.parse(process.argv[2] ?? '') as LiveProducerConfig;
const host = await startHost({
  databaseUrl: config.databaseUrl,
  withBus: true,
  entities: [BenchItem],
  poolMax: LIVE_POOL_MAX,
  providers: LIVE_CONNECTORS.map((name) => liveConnector(name, config.ordering)),
  bus: {
    settings: { processOutgoing: false },
    outgoing: { processAfterCommit: false, sweepIntervalMs: 0 },
  },
});
console.log('ready');
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
await input.next();

let commits = 0;
const cpu = process.cpuUsage();
const start = performance.now();
const end = start + config.durationMs;
const lane = async (): Promise<void> => {
  while (performance.now() < end) {
    const id = 1 + Math.floor(Math.random() * config.objects);
    await host.orm.em.fork().transactional(async (em) => {
      const item = await em.findOneOrFail(BenchItem, id, { lockMode: LockMode.PESSIMISTIC_WRITE });
      item.version += 1;
      await em.flush();
    });
    commits += 1;
  }
};
await Promise.all(Array.from({ length: config.lanes }, lane));
const producingMs = performance.now() - start;
const { user, system } = process.cpuUsage(cpu);
const report: LiveProducerReport = { commits, producingMs, cpuMs: (user + system) / 1000 };
console.log(`done ${JSON.stringify(report)}`);
// Kept open until the queues are empty: the parent reads the CPU time of its database sessions too.
for (;;) {
  const line = await input.next();
  if (line.done || line.value.trim() === 'stop') break;
}
await host.close();
process.exit(0);
