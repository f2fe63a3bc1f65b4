import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { startHost } from './host/host-app.js';
import { ORDERED_CONNECTOR, type ScaleWorkerConfig } from './measure/scale-out.js';

/*
 * One instance of the scale-out scenario: a host with the bus and the `ordering: 'object'`
 * connector. Prints `ready`, waits for `go` on stdin, then processes the connector until its queue
 * is empty and prints `done {"delivered":…,"outOfOrder":…}`: how many tasks this instance
 * delivered, and how many of them came after a later change of the same object (by task id).
 */
const config = JSON.parse(process.argv[2] ?? '') as ScaleWorkerConfig;
const lastTaskOf = new Map<string, number>();
let delivered = 0;
let outOfOrder = 0;
const host = await startHost({
  databaseUrl: config.databaseUrl,
  withBus: true,
  connectors: [ORDERED_CONNECTOR],
  behaviour: {
    ordering: 'object',
    partitions: config.partitions,
    concurrency: config.concurrency,
    callMs: config.callMs,
  },
  onCall: (_connector, task) => {
    delivered += 1;
    const objectId = String(task.object.id);
    if ((lastTaskOf.get(objectId) ?? 0) > task.id) outOfOrder += 1;
    lastTaskOf.set(objectId, task.id);
  },
});
// The instances' membership beats every third of a lease: one full lease lets each count the others.
await sleep(2100);
console.log('ready');
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
await input.next();
const client = new Client({ connectionString: config.databaseUrl });
await client.connect();
for (;;) {
  const counts = await host.bus!.processOutgoingTasks(ORDERED_CONNECTOR);
  const [left] = (
    await client.query<{ n: number }>(`select count(*)::int as n from integration_synchronization`)
  ).rows;
  if (left!.n === 0) break;
  // Partitions the other instances hold are skipped by this run: look again shortly.
  if (counts.OK === 0) await sleep(20);
}
console.log(`done ${JSON.stringify({ delivered, outOfOrder })}`);
await client.end();
await host.close();
process.exit(0);
