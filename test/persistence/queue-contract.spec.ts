import { afterEach, describe, expect, it } from 'vitest';
import { ClaimLostError } from 'nestjs-integration-bus';
import { LeaseStore } from '../../libs/integration-bus/src/persistence/lease.store.js';
import { PartitionGroupStore } from '../../libs/integration-bus/src/persistence/partition-group.store.js';
import type { LeaseToken } from '../../libs/integration-bus/src/persistence/lease-scope.js';
import {
  QueueStore,
  type QueuedSynchronization,
  type UnsuccessfulAttempt,
} from '../../libs/integration-bus/src/persistence/queue.store.js';
import { TaskQueryStore } from '../../libs/integration-bus/src/persistence/task-query.store.js';
import { useBusApp } from '../support/bus-app.js';
import { Role, User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';

/**
 * The queue store's contract: each guarantee the drain relies on, exercised on the store itself
 * (real PostgreSQL, the bus's own SQL), one case per rule. The drain's and the processes' tests
 * (test/outgoing, test/faults) show the same rules end to end.
 */
const log: CallLog = [];
const fifo = recordingConnector('Fifo', [{ objectType: 'cms.role' }], log);
const perObject = recordingConnector('PerObject', [{ objectType: 'cms.user' }], log, {
  ordering: 'object',
  partitions: 2,
});
const t = useBusApp({
  providers: [fifo.provider, perObject.provider],
  bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 }, settings: { processOutgoing: false } },
});
afterEach(async () => {
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from t_role`);
  await t.sql(`delete from t_user`);
  await t.sql(`update integration_connector set lease_owner = null, lease_until = null`);
  await t.sql(`update integration_partition_lease set owner = null, lease_until = null`);
});

const queue = () => t.app.get(QueueStore);

async function connectorId(codeName: string): Promise<number> {
  const [row] = await t.sql<{ id: number }>(`select id from integration_connector where code_name = $1`, [
    codeName,
  ]);
  return row!.id;
}

/** Claims a queue's lease as a run would; returns the token and what "now" is for the run. */
async function claim(
  codeName: string,
  partition = 0,
  owner = 'contract-run',
): Promise<{ token: LeaseToken; asOf: string }> {
  const scope = { direction: 'outgoing' as const, connectorId: await connectorId(codeName), partition };
  const grant = await t.app.get(LeaseStore).claim(scope, owner, 60_000);
  if (!grant.granted) throw new Error(`${codeName} partition ${partition} is held`);
  return { token: { ...scope, owner, epoch: grant.epoch }, asOf: grant.claimedAt };
}

async function read(token: LeaseToken, asOf: string): Promise<QueuedSynchronization[]> {
  return queue().fetchOutgoing(token, asOf, '0', 100);
}

/** One role per name, one flush each (a task each, in this order). */
async function roles(...names: string[]): Promise<void> {
  let id = 1;
  for (const name of names) {
    const em = t.em();
    em.create(Role, { id: id++, name });
    await em.flush();
  }
}

function attempt(
  row: QueuedSynchronization,
  state: UnsuccessfulAttempt['state'],
  retryInMs: number | null,
): UnsuccessfulAttempt {
  return {
    syncId: row.syncId,
    state,
    message: `${state} on purpose`,
    retryInMs,
    failure: state !== 'skipped',
    skip: state === 'skipped',
  };
}

const titles = (rows: readonly QueuedSynchronization[]) => rows.map((r) => r.title);

describe('QueueStore contract', () => {
  it('R-OUT-6 / R-DEL-1: a run reads its queue from the head, in task order', async () => {
    await roles('a', 'b', 'c');
    const { token, asOf } = await claim('Fifo');
    expect(titles(await read(token, asOf))).toEqual([
      "Create Role 'a'",
      "Create Role 'b'",
      "Create Role 'c'",
    ]);
  });

  it('the drain reads rows with the values and types of the generic read, the snapshot on the first row only', async () => {
    await roles('a', 'b', 'c');
    const first = await claim('Fifo');
    const [a] = await read(first.token, first.asOf);
    // One synchronization with a row of its own and attempts counted, the others lone.
    await queue().complete({ done: [], unsuccessful: [attempt(a!, 'skipped', 0)] }, first.token);
    const run = await claim('Fifo');
    const rows = await read(run.token, run.asOf);
    expect(rows).toHaveLength(3);
    expect(rows[0]!.snapshot).toMatch(/^\d+:\d+$/);
    expect(rows.slice(1).map((row) => row.snapshot)).toEqual([undefined, undefined]);
    expect(rows[0]).toMatchObject({ attempts: 1, failures: 0, skips: 1, state: 'skipped', isInbound: false });
    const id = await connectorId('Fifo');
    for (const row of rows) {
      const generic = await queue().findOne(id, Number(row.taskId));
      expect(generic).not.toBeNull();
      const { snapshot: _snapshot, ...decoded } = row;
      expect({ ...decoded }).toEqual({ ...generic });
    }
  });

  it('R-DEL-2: a write under a lease another instance has claimed since is refused, and nothing is written', async () => {
    await roles('a', 'b');
    const first = await claim('Fifo');
    const [a] = await read(first.token, first.asOf);
    // The lease runs out and another instance claims it: a new epoch.
    await t.sql(
      `update integration_connector set lease_until = now() - interval '1 second' where code_name = 'Fifo'`,
    );
    await claim('Fifo', 0, 'successor');
    const done = { done: [{ syncId: a!.syncId, taskId: a!.taskId }], unsuccessful: [] };
    await expect(queue().completeLast(done, first.token)).rejects.toBeInstanceOf(ClaimLostError);
    await expect(queue().complete(done, first.token)).rejects.toBeInstanceOf(ClaimLostError);
    expect(await queue().completeAndFetch(done, first.token, first.asOf, '0', 100)).toEqual([]);
    const [left] = await t.sql<{ n: number }>(`select count(*)::int as n from integration_task`);
    expect(left!.n).toBe(2);
  });

  it('R-DEL-5: an unsuccessful synchronization is read again only once its next attempt is due', async () => {
    await roles('a', 'b');
    const run = await claim('Fifo');
    const [a, b] = await read(run.token, run.asOf);
    await queue().complete(
      { done: [], unsuccessful: [attempt(a!, 'retrying', 60_000), attempt(b!, 'skipped', 0)] },
      run.token,
    );
    const later = await claim('Fifo');
    // The skipped one is due at once; the retrying one in a minute.
    expect(titles(await read(later.token, later.asOf))).toEqual(["Create Role 'b'"]);
    await t.sql(`update integration_synchronization set next_attempt_at = now() - interval '1 second'`);
    const due = await claim('Fifo');
    expect(titles(await read(due.token, due.asOf))).toEqual(["Create Role 'a'", "Create Role 'b'"]);
  });

  it('R-DEL-6: a parked synchronization is never read again and holds nothing back', async () => {
    await roles('a', 'b');
    const run = await claim('Fifo');
    const [a] = await read(run.token, run.asOf);
    await queue().complete({ done: [], unsuccessful: [attempt(a!, 'parked', null)] }, run.token);
    const later = await claim('Fifo');
    expect(titles(await read(later.token, later.asOf))).toEqual(["Create Role 'b'"]);
  });

  it('R-OUT-6: with one FIFO, a failed synchronization holds back every later task of its connector', async () => {
    await roles('a', 'b', 'c');
    const run = await claim('Fifo');
    const [a] = await read(run.token, run.asOf);
    await queue().complete({ done: [], unsuccessful: [attempt(a!, 'failed', 60_000)] }, run.token);
    const later = await claim('Fifo');
    expect(await read(later.token, later.asOf)).toEqual([]);
    // What the lists show follows the same rule: b and c wait behind a.
    const blocked = await t.app
      .get(TaskQueryStore)
      .list({ isInbound: false, connectorId: await connectorId('Fifo') }, undefined, 10);
    expect(blocked.map((row) => [row.title, row.status, row.blockedBy])).toEqual([
      ["Create Role 'a'", 'failed', null],
      ["Create Role 'b'", 'waiting', Number(a!.taskId)],
      ["Create Role 'c'", 'waiting', Number(a!.taskId)],
    ]);
  });

  it('R-ORD-1: in a partition, a failed synchronization holds back only its own object’s later tasks', async () => {
    const em = t.em();
    const [x, y] = [em.create(User, { id: 1, userName: 'x' }), em.create(User, { id: 2, userName: 'y' })];
    await em.flush();
    x.email = 'x@v2';
    y.email = 'y@v2';
    await em.flush();
    // Put both objects in one partition, so that one run sees them side by side.
    await t.sql(`update integration_task set partition = 1`);
    const run = await claim('PerObject', 1);
    const rows = await read(run.token, run.asOf);
    expect(rows.map((r) => r.objectId)).toEqual(['1', '2', '1', '2']);
    await queue().complete({ done: [], unsuccessful: [attempt(rows[0]!, 'failed', 60_000)] }, run.token);
    const later = await claim('PerObject', 1);
    // x's next change waits behind its failure; y's changes do not.
    expect((await read(later.token, later.asOf)).map((r) => r.taskId)).toEqual([
      rows[1]!.taskId,
      rows[3]!.taskId,
    ]);
    const [objects] = await t.sql<{ n: number }>(
      `select count(*)::int as n from integration_synchronization where state = 'failed'`,
    );
    expect(objects!.n).toBe(1);
  });

  it('R-DEL-2 / R-ORD-2: a group run writes each partition only under its own lease; one taken over keeps its rows, the others are written and released', async () => {
    const em = t.em();
    em.create(User, { id: 1, userName: 'x' });
    em.create(User, { id: 2, userName: 'y' });
    await em.flush();
    // One object in each partition.
    await t.sql(`update integration_task set partition = object_id::int`);
    const groups = t.app.get(PartitionGroupStore);
    const id = await connectorId('PerObject');
    const grant = await groups.claim(id, [1, 2], 'group-run', 60_000);
    expect(grant.granted.map((g) => g.partition)).toEqual([1, 2]);
    expect(grant.refused).toEqual([]);
    const rows = await groups.fetchHeads(id, [1, 2], grant.claimedAt!, 100);
    expect(rows.map((r) => [r.partition, r.objectId])).toEqual([
      [1, '1'],
      [2, '2'],
    ]);
    // Held: a second group claim is refused, with the holder's lease left to run.
    const refused = await groups.claim(id, [1, 2], 'other-group', 60_000);
    expect(refused.granted).toEqual([]);
    expect(refused.refused.map((r) => r.partition).sort()).toEqual([1, 2]);
    expect(Math.min(...refused.refused.map((r) => r.expiresInMs))).toBeGreaterThan(50_000);
    // Partition 2's lease runs out and another instance claims it: a new epoch there only.
    await t.sql(
      `update integration_partition_lease set lease_until = now() - interval '1 second' where connector_id = $1 and partition = 2`,
      [id],
    );
    await claim('PerObject', 2, 'successor');
    const done = rows.map((r) => ({ syncId: r.syncId, taskId: r.taskId, partition: r.partition }));
    const { held } = await groups.completeAndRelease(id, grant.granted, 'group-run', done, []);
    expect([...held]).toEqual([1]);
    const left = await t.sql<{ object_id: string }>(`select object_id from integration_task order by id`);
    expect(left.map((r) => r.object_id)).toEqual(['2']);
    const leases = await t.sql<{ partition: number; owner: string | null }>(
      `select partition, owner from integration_partition_lease where connector_id = $1 order by partition`,
      [id],
    );
    expect(leases).toEqual([
      { partition: 1, owner: null },
      { partition: 2, owner: 'successor' },
    ]);
  });
});
