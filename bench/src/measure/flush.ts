import { performance } from 'node:perf_hooks';
import type { EntityManager } from '@mikro-orm/core';
import { connectorNames } from '../host/noop-connector.js';
import { BenchUser } from '../host/bench-user.entity.js';
import { startHost } from '../host/host-app.js';
import { median, percentile } from '../support/stats.js';
import type { MeasureResult } from './job.js';
import { profileClock, recordProfileWindow } from './profile-window.js';

/**
 * Scenario 1: the time of `em.flush()` for `entities` `BenchUser` rows, inserted (new rows) or
 * updated (rows inserted before the clock starts, loaded into the flush's entity manager, their
 * `email` changed), in an app with the bus (one connector subscribed, AsyncSimple) or without it.
 * Only the flush is timed, not `em.create` nor the load. Processing after commit is off so that only
 * logging is measured, not a queue drain racing the next flush. `warmup` flushes first, then the
 * median and the 99th percentile of `flushes`.
 */
export async function measureFlush(
  databaseUrl: string,
  job: {
    withBus: boolean;
    entities: number;
    flushes: number;
    warmup: number;
    change?: 'insert' | 'update';
  },
): Promise<MeasureResult> {
  const host = await startHost({ databaseUrl, withBus: job.withBus, connectors: connectorNames(1) });
  const update = job.change === 'update';
  try {
    const ids = update ? await insertRows(host.orm.em.fork(), job.entities) : [];
    const times: number[] = [];
    let next = 0;
    let window = 0;
    for (let round = 0; round < job.warmup + job.flushes; round++) {
      const em = host.orm.em.fork();
      if (update) {
        const users = await em.find(BenchUser, { id: { $in: ids } });
        for (const user of users) user.email = `user-${user.id}-${round}@example.com`;
      } else {
        for (let i = 0; i < job.entities; i++) {
          next += 1;
          em.create(BenchUser, { userName: `user-${next}`, email: `user-${next}@example.com` });
        }
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
    const changes = update ? job.entities * (job.warmup + job.flushes) : next;
    const expected = job.withBus ? changes : 0;
    if (tasks !== expected) throw new Error(`Expected ${expected} tasks logged, found ${tasks}.`);
    return {
      values: { ms: median(times), p99Ms: percentile(times, 99) },
      notes: {
        flushes: times.length,
        ...(times.length <= 20 ? { flushMs: times.map(round3) } : {}),
        tasksLogged: tasks,
      },
    };
  } finally {
    await host.close();
  }
}

/** The rows the update subjects change, inserted before the clock starts; their tasks removed. */
async function insertRows(em: EntityManager, count: number): Promise<number[]> {
  const users = Array.from({ length: count }, (_, i) =>
    em.create(BenchUser, { userName: `user-${i}`, email: `user-${i}@example.com` }),
  );
  await em.flush();
  // The inserts' own tasks are not the updates': the count checked at the end is the updates'.
  await em
    .getConnection()
    .execute(
      `do $$ begin if to_regclass('integration_task') is not null then delete from integration_task; end if; end $$`,
    );
  return users.map((u) => u.id);
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
