import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchItem } from './host/bench-item.entity.js';
import { startHost } from './host/host-app.js';
import {
  LIVE_CONNECTORS,
  LIVE_POOL_MAX,
  liveConnector,
  type LiveProcessConfig,
} from './live/live-connectors.js';
import type { LiveWorkerReport } from './measure/live-ordering.js';

/*
 * One processing instance of the live-ordering scenario: a host with the bus and the four
 * connectors, processing as a deployed instance does (after-commit nudges, the other instances'
 * commit signals, the sweep at its default period), nothing driven by hand. Each delivery is counted
 * and checked against the last version this instance delivered of the object to the connector.
 * Protocol on stdio: prints `ready` once it has seen the other instances' beats; `stop` on stdin
 * prints `done {…}` (a `LiveWorkerReport`) and exits.
 */
const config = JSON.parse(process.argv[2] ?? '') as LiveProcessConfig;
const report: LiveWorkerReport = {
  deliveries: 0,
  outOfOrder: 0,
  unreadable: 0,
  versions: Object.fromEntries(LIVE_CONNECTORS.map((name) => [name, {}])),
  cpuMs: 0,
};
const lastVersion = new Map(LIVE_CONNECTORS.map((name) => [name, new Map<number, number>()]));
const host = await startHost({
  databaseUrl: config.databaseUrl,
  withBus: true,
  entities: [BenchItem],
  poolMax: LIVE_POOL_MAX,
  providers: LIVE_CONNECTORS.map((name) =>
    liveConnector(name, config.ordering, (connector, objectId, version) => {
      report.deliveries += 1;
      if (!Number.isInteger(objectId) || !Number.isInteger(version)) {
        report.unreadable += 1;
        return;
      }
      const last = lastVersion.get(connector)!;
      // An equal version is a duplicate: the parent counts those over every instance.
      if ((last.get(objectId) ?? 0) > version) report.outOfOrder += 1;
      last.set(objectId, Math.max(version, last.get(objectId) ?? 0));
      (report.versions[connector]![objectId] ??= []).push(version);
    }),
  ),
  bus: { outgoing: { processAfterCommit: true, sweepIntervalMs: 60_000 } },
});
// The instances' membership beats every third of a lease: one full lease lets each count the others.
await sleep(2100);
console.log('ready');
const cpu = process.cpuUsage();
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
for (;;) {
  const line = await input.next();
  if (line.done || line.value.trim() === 'stop') break;
}
const { user, system } = process.cpuUsage(cpu);
report.cpuMs = (user + system) / 1000;
console.log(`done ${JSON.stringify(report)}`);
await Promise.race([host.close(), sleep(5000)]);
process.exit(0);
