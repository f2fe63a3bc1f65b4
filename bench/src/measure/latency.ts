import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchUser } from '../host/bench-user.entity.js';
import { startHost } from '../host/host-app.js';
import { connectorNames } from '../host/noop-connector.js';
import { percentile } from '../support/stats.js';
import type { MeasureResult } from './job.js';

/**
 * Scenario 4: `BenchUser`s created and flushed one per flush at `ratePerSecond` from `lanes`
 * concurrent producers (open loop: a late flush does not push the schedule back), with processing
 * after commit on, as a host runs by
 * default. Latency is the time from the flush's commit (stamped by a MikroORM subscriber of the
 * host, in `afterTransactionCommit`) to the no-op connector's call. The first `warmupSeconds` are
 * not counted.
 */
export async function measureLatency(
  databaseUrl: string,
  job: { ratePerSecond: number; seconds: number; warmupSeconds: number; lanes: number },
): Promise<MeasureResult> {
  const committedAt = new Map<string, number>();
  const calledAt = new Map<string, number>();
  const host = await startHost({
    databaseUrl,
    withBus: true,
    connectors: connectorNames(1),
    bus: { outgoing: { processAfterCommit: true } },
    onCall: (_connector, task) => calledAt.set(task.object.userName, performance.now()),
  });
  // Which user each unit of work is flushing, so that its commit is stamped for that user.
  const flushing = new Map<object, string>();
  host.orm.em.getEventManager().registerSubscriber({
    afterTransactionCommit: (args) => {
      const userName = args.uow ? flushing.get(args.uow) : undefined;
      if (userName) committedAt.set(userName, performance.now());
    },
  });
  try {
    // `lanes` producers, each one flush at a time on its own schedule (open loop: a late flush does
    // not push the schedule back), together `ratePerSecond`.
    const interval = (1000 * job.lanes) / job.ratePerSecond;
    const warmup = Math.round(job.warmupSeconds * job.ratePerSecond);
    const total = warmup + Math.round(job.seconds * job.ratePerSecond);
    const start = performance.now();
    const lane = async (first: number) => {
      for (let i = first, k = 0; i < total; i += job.lanes, k++) {
        const wait = start + (first * interval) / job.lanes + k * interval - performance.now();
        if (wait > 0) await sleep(wait);
        const em = host.orm.em.fork();
        const userName = `user-${i}`;
        em.create(BenchUser, { userName, email: `${userName}@example.com` });
        flushing.set(em.getUnitOfWork(), userName);
        await em.flush();
        flushing.delete(em.getUnitOfWork());
      }
    };
    await Promise.all(Array.from({ length: job.lanes }, (_, first) => lane(first)));
    const produced = performance.now() - start;
    const deadline = Date.now() + 30_000;
    while (calledAt.size < total && Date.now() < deadline) await sleep(10);
    if (calledAt.size < total)
      throw new Error(`Only ${calledAt.size} of ${total} tasks reached the connector.`);
    const latencies: number[] = [];
    for (let i = warmup; i < total; i++) {
      const name = `user-${i}`;
      const committed = committedAt.get(name);
      if (committed === undefined) throw new Error(`The commit of ${name} was not stamped.`);
      latencies.push(calledAt.get(name)! - committed);
    }
    return {
      values: {
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: Math.max(...latencies),
        achievedRate: (total / produced) * 1000,
      },
      notes: { measured: latencies.length },
    };
  } finally {
    await host.close();
  }
}
