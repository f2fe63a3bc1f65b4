import { performance } from 'node:perf_hooks';
import { startHost } from '../host/host-app.js';
import { connectorNames } from '../host/noop-connector.js';
import { seedBusTasks } from '../host/seed.js';
import { CpuMeter } from './cpu-meter.js';
import { cpuPer1000, type MeasureResult } from './job.js';
import { profileClock, recordProfileWindow } from './profile-window.js';

/**
 * Scenarios 2, 3 and 5: `tasks` tasks queued for `connectors` no-op connectors (seeded in SQL
 * before the clock starts), then one `IntegrationBus.processOutgoingTasks()`, the public API, timed
 * until it resolves: every connector's queue drained, oldest task first, in the bus's batches.
 * Processing after commit and the sweep are off, so nothing else touches the queue.
 */
export async function measureBusDrain(
  databaseUrl: string,
  job: { tasks: number; connectors: number; batchSize?: number; readObject?: boolean },
): Promise<MeasureResult> {
  const names = connectorNames(job.connectors);
  const host = await startHost({
    databaseUrl,
    withBus: true,
    connectors: names,
    readObject: job.readObject,
    bus: job.batchSize ? { batchSize: job.batchSize } : {},
  });
  try {
    await seedBusTasks(databaseUrl, job.tasks, names);
    const rssBefore = process.memoryUsage().rss;
    const cpu = await CpuMeter.start(databaseUrl);
    const window = profileClock();
    const start = performance.now();
    const counts = await host.bus!.processOutgoingTasks();
    const ms = performance.now() - start;
    const { nodeMs, postgresMs } = await cpu.stop();
    recordProfileWindow(window, profileClock());
    const synchronizations = job.tasks * job.connectors;
    if (counts.OK !== synchronizations) {
      throw new Error(`Expected ${synchronizations} OK results, got ${JSON.stringify(counts)}.`);
    }
    // Every synchronization must be gone. A task may outlive its last synchronization when two
    // connectors finish it at the same instant (the bus leaves such orphans to its sweep, which
    // is off here): they are counted, not treated as a failure.
    const [left] = await host.orm.em.getConnection().execute<{ syncs: number; orphans: number }[]>(
      `select (select count(*) from integration_synchronization)::int as syncs,
              (select count(*) from integration_task)::int as orphans`,
    );
    if (left!.syncs !== 0)
      throw new Error(`${left!.syncs} synchronizations left in the queue after the drain.`);
    return {
      values: {
        ms,
        seconds: ms / 1000,
        tasksPerSecond: (job.tasks / ms) * 1000,
        synchronizationsPerSecond: (synchronizations / ms) * 1000,
        maxRssMb: process.resourceUsage().maxRSS / 1024,
        ...cpuPer1000(nodeMs, postgresMs, synchronizations),
        orphanTasks: left!.orphans,
      },
      notes: { counts, rssBeforeDrainMb: Math.round(rssBefore / 1024 / 1024) },
    };
  } finally {
    await host.close();
  }
}
