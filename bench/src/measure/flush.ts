import { performance } from 'node:perf_hooks';
import { connectorNames } from '../host/noop-connector.js';
import { BenchUser } from '../host/bench-user.entity.js';
import { startHost } from '../host/host-app.js';
import { median } from '../support/stats.js';
import type { MeasureResult } from './job.js';
import { profileClock, recordProfileWindow } from './profile-window.js';

/**
 * Scenario 1: the time of `em.flush()` for `entities` new `BenchUser` rows, in an app with the bus
 * (one connector subscribed, AsyncSimple) or without it. Only the flush is timed, not `em.create`.
 * Processing after commit is off so that only logging is measured, not a queue drain racing the
 * next flush. `warmup` flushes first, then the median of `flushes`.
 */
export async function measureFlush(
  databaseUrl: string,
  job: { withBus: boolean; entities: number; flushes: number; warmup: number },
): Promise<MeasureResult> {
  const host = await startHost({ databaseUrl, withBus: job.withBus, connectors: connectorNames(1) });
  try {
    const times: number[] = [];
    let next = 0;
    let window = 0;
    for (let round = 0; round < job.warmup + job.flushes; round++) {
      const em = host.orm.em.fork();
      for (let i = 0; i < job.entities; i++) {
        next += 1;
        em.create(BenchUser, { userName: `user-${next}`, email: `user-${next}@example.com` });
      }
      if (round === job.warmup) window = profileClock();
      const start = performance.now();
      await em.flush();
      const elapsed = performance.now() - start;
      if (round >= job.warmup) times.push(elapsed);
    }
    recordProfileWindow(window, profileClock());
    const tasks = job.withBus
      ? Number(
          (await host.orm.em.getConnection().execute(`select count(*)::int as n from integration_task`))[0].n,
        )
      : 0;
    const expected = job.withBus ? next : 0;
    if (tasks !== expected) throw new Error(`Expected ${expected} tasks logged, found ${tasks}.`);
    return { values: { ms: median(times) }, notes: { flushMs: times.map(round2), tasksLogged: tasks } };
  } finally {
    await host.close();
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
