import { Injectable } from '@nestjs/common';
import { BusDatabase } from './bus-database.js';
import { decodeQueuedRows, type QueuedSynchronization } from './queued-row.js';
import { nextRunDueSql } from './queue-rules.js';
import { idArray, selectOutgoing, type FetchParameter } from './queue.store.js';
import { SqlStatement, type PlaceParameter } from './sql-statement.js';
import { nothingQueuedSql } from './synchronizations.js';
import { retryOnWriteConflict } from './write-conflict.js';

/** One partition's lease held by a group run: the partition and its fencing epoch. */
export interface HeldPartition {
  partition: number;
  epoch: string;
}

/** What a group claim got: the partitions granted, and when the others' holders' leases end. */
export interface GroupGrant {
  granted: HeldPartition[];
  /** Partitions held elsewhere (or being written by their holder): milliseconds until their lease ends. */
  refused: { partition: number; expiresInMs: number }[];
  /** The database's clock at the claim (ISO 8601), or null when nothing was granted. */
  claimedAt: string | null;
}

/** A done synchronization of a group run, with the partition whose lease fences its write. */
export interface GroupDone {
  syncId: string;
  taskId: string;
  partition: number;
}

/**
 * Claims every partition of `partitions` that is free, expired or already ours, with a new epoch
 * each, in one statement. Rows another statement has locked (a holder writing its outcome, another
 * claim) are passed over (`skip locked`): never a wait, never a lock cycle; they count as held
 * elsewhere. The refusals say when each holder's lease ends (a lease length if unknown), for the
 * takeover timer.
 */
const CLAIM_GROUP = new SqlStatement<'connectorId' | 'partitions' | 'owner' | 'leaseMs'>((param) => {
  const connector = param('connectorId', 'int');
  const partitions = param('partitions', 'smallint[]');
  const owner = param('owner', 'text');
  const leaseMs = param('leaseMs', 'float8');
  return `with free as materialized (
         select l.partition from integration_partition_lease l
          where l.connector_id = ${connector} and l.partition = any(${partitions})
            and (l.owner is null or l.owner = ${owner} or l.lease_until < clock_timestamp())
          order by l.partition
          for update skip locked
       ), claimed as (
         update integration_partition_lease l
            set owner = ${owner},
                lease_until = clock_timestamp() + make_interval(secs => ${leaseMs} / 1000),
                epoch = l.epoch + 1
           from free f
          where l.connector_id = ${connector} and l.partition = f.partition
         returning l.partition, l.epoch::text as epoch
       )
       select c.partition, c.epoch, 0::float8 as "leftMs", to_json(clock_timestamp()) #>> '{}' as at from claimed c
       union all
       select l.partition, null, coalesce(extract(epoch from l.lease_until - clock_timestamp()) * 1000, ${leaseMs})::float8, null
         from integration_partition_lease l
        where l.connector_id = ${connector} and l.partition = any(${partitions})
          and not exists (select 1 from claimed c where c.partition = l.partition)`;
});

/** The held partitions of a group, as `unnest` rows `h(partition, epoch)`. */
type HeldParameter = 'connectorId' | 'owner' | 'heldPartitions' | 'epochs';
const heldRows = (param: (name: HeldParameter, type: 'smallint[]' | 'bigint[]') => string): string =>
  `unnest(${param('heldPartitions', 'smallint[]')}, ${param('epochs', 'bigint[]')}) as h(partition, epoch)`;

const RENEW_GROUP = new SqlStatement<HeldParameter | 'leaseMs'>(
  (param) => `update integration_partition_lease l
        set lease_until = clock_timestamp() + make_interval(secs => ${param('leaseMs', 'float8')} / 1000)
       from ${heldRows(param)}
      where l.connector_id = ${param('connectorId', 'int')} and l.partition = h.partition and l.epoch = h.epoch
        and l.owner = ${param('owner', 'text')}
      returning l.partition`,
);

const RELEASE_GROUP = new SqlStatement<HeldParameter>(
  (param) => `update integration_partition_lease l set owner = null, lease_until = null
       from ${heldRows(param)}
      where l.connector_id = ${param('connectorId', 'int')} and l.partition = h.partition and l.epoch = h.epoch
        and l.owner = ${param('owner', 'text')}`,
);

/**
 * The heads of several partitions of one connector in one statement: each partition's queue read as
 * a run of it reads it (`selectOutgoing`, from its head), at most `limit` rows each.
 *
 * `count` is the list's own length: a no-op to the result, it is there for the prepared statement's
 * plan. PostgreSQL takes an array parameter's `unnest` for ten rows, so the generic plan looked ten
 * reads dear beside the custom plans of a partition or two, and the statement was planned again at
 * every execution (measured under live traffic: 4.5 ms of planning per read, six times the read).
 * A limit by a parameter is taken for a tenth of its input: one partition, and the plan is kept.
 */
const FETCH_HEADS = new SqlStatement<
  Exclude<FetchParameter, 'partition' | 'excluded'> | 'partitions' | 'count'
>((param) => {
  // Each partition's read is a run's read, with the partition taken from the list being walked.
  const perPartition: PlaceParameter<Exclude<FetchParameter, 'excluded'>> = (name, type) =>
    name === 'partition' ? 'g.partition' : param(name, type);
  return `select q.* from (select unnest(${param('partitions', 'smallint[]')}) as partition limit ${param('count', 'int')}) g
      cross join lateral (${selectOutgoing(perPartition, `'{}'::bigint[]`)}) q
      order by q.partition, q."taskId"`;
});

/**
 * A group run's done synchronizations written, and every partition it still holds released, in one
 * statement. Each row is written only while its own partition's lease is the run's (`lease`, locked
 * `for share` in partition order, as `leaseHeldSql` does for one): a partition another instance has
 * claimed meanwhile keeps its rows, the others are written. Shared tasks are locked in id order and
 * deleted once nothing is queued for them, as `completionCtes` does for one queue (its lock order,
 * and why `done` waits for `locked`). The rows are found by `= any(array(…))`: primary-key lookups
 * of an array, as in `completionCtes`, whatever the prepared plan thinks of the CTE's size. Returns the
 * partitions whose lease held, and when the connector must run again by itself (`nextRunDueSql`,
 * read here rather than in a statement of its own).
 */
const COMPLETE_GROUP = new SqlStatement<HeldParameter | 'done' | 'donePartitions' | 'shared'>((param) => {
  const connector = param('connectorId', 'int');
  const owner = param('owner', 'text');
  return `with lease as (
         select l.partition from integration_partition_lease l
           join ${heldRows(param)} on h.partition = l.partition and h.epoch = l.epoch
          where l.connector_id = ${connector} and l.owner = ${owner}
          order by l.partition
          for share of l
       ), fenced as materialized (
         select x.id from unnest(${param('done', 'bigint[]')}, ${param('donePartitions', 'smallint[]')}) as x(id, partition)
          where x.partition in (select partition from lease)
       ), locked as materialized (
         select t.id from integration_task t
          where t.id = any(${param('shared', 'bigint[]')}) and ${nothingQueuedSql('array(select id from fenced)')}
          order by t.id for update
       ), done as (
         delete from integration_synchronization
          where id = any(array(select id from fenced where id > 0)) and (select count(*) from locked) >= 0
         returning task_id
       ), lone as (
         delete from integration_task
          where id = any(array(select -id from fenced where id < 0)) and connector_id is not null
       ), gone as (
         delete from integration_task t using locked where t.id = locked.id
       ), released as (
         update integration_partition_lease l set owner = null, lease_until = null
           from lease where l.connector_id = ${connector} and l.partition = lease.partition
       )
       select array(select partition from lease)::int[] as held, ${nextRunDueSql(connector)} as "dueInMs"`;
});

/**
 * The statements of a group run (see `PartitionGroupDrain`): one run of an `ordering: 'object'`
 * connector over every partition a burst of commits wrote to, paying one claim, one read and one
 * write for all of them instead of one each. Each partition keeps its own lease and epoch, so the
 * fence (R-DEL-2) still holds per partition.
 */
@Injectable()
export class PartitionGroupStore {
  constructor(private readonly db: BusDatabase) {}

  /** Claims what it can of `partitions` (see `CLAIM_GROUP`). */
  async claim(
    connectorId: number,
    partitions: readonly number[],
    owner: string,
    leaseMs: number,
  ): Promise<GroupGrant> {
    const rows = await this.db.prepared<{
      partition: number;
      epoch: string | null;
      leftMs: number;
      at: string | null;
    }>(
      CLAIM_GROUP.text,
      CLAIM_GROUP.values({ connectorId, partitions: idArray(partitions.map(String)), owner, leaseMs }),
    );
    const grant: GroupGrant = { granted: [], refused: [], claimedAt: null };
    for (const row of rows) {
      if (row.epoch === null) grant.refused.push({ partition: row.partition, expiresInMs: row.leftMs });
      else {
        grant.granted.push({ partition: row.partition, epoch: row.epoch });
        grant.claimedAt ??= row.at;
      }
    }
    // A partition without a lease row (laid out anew meanwhile): as `LeaseStore.claim` answers it,
    // refused with nothing to wait for, so that the connector is looked at again at once.
    for (const partition of partitions) {
      if (!rows.some((row) => row.partition === partition)) grant.refused.push({ partition, expiresInMs: 0 });
    }
    return grant;
  }

  /** Extends the leases still ours; returns the partitions renewed (the others were taken over). */
  async renew(
    connectorId: number,
    held: readonly HeldPartition[],
    owner: string,
    leaseMs: number,
  ): Promise<Set<number>> {
    const rows = await this.db.prepared<{ partition: number }>(
      RENEW_GROUP.text,
      RENEW_GROUP.values({ ...heldArguments(connectorId, held, owner), leaseMs }),
    );
    return new Set(rows.map((row) => row.partition));
  }

  /** Gives back the leases still ours at their epochs. */
  async release(connectorId: number, held: readonly HeldPartition[], owner: string): Promise<void> {
    if (held.length === 0) return;
    await this.db.prepared(RELEASE_GROUP.text, RELEASE_GROUP.values(heldArguments(connectorId, held, owner)));
  }

  /** The heads of `partitions`, at most `limit` rows each, due as of `asOf` (see `FETCH_HEADS`). */
  fetchHeads(
    connectorId: number,
    partitions: readonly number[],
    asOf: string,
    limit: number,
  ): Promise<QueuedSynchronization[]> {
    const list = idArray(partitions.map(String));
    const args = { connectorId, partitions: list, count: partitions.length, asOf, limit, floor: '0' };
    return this.db.preparedDecoded(FETCH_HEADS.text, FETCH_HEADS.values(args), decodeQueuedRows);
  }

  /**
   * Writes `done` (each fenced by its partition's lease) and releases every partition of `held`
   * still ours (see `COMPLETE_GROUP`). `shared`: tasks other connectors may be finishing too.
   * @returns the partitions whose lease held (the others wrote nothing), and when the connector must
   * run again by itself in milliseconds from now, or null (see `QueueStore.nextRetryInMs`)
   */
  async completeAndRelease(
    connectorId: number,
    held: readonly HeldPartition[],
    owner: string,
    done: readonly GroupDone[],
    shared: readonly string[],
  ): Promise<{ held: Set<number>; dueInMs: number | null }> {
    const values = COMPLETE_GROUP.values({
      ...heldArguments(connectorId, held, owner),
      done: idArray(done.map((d) => d.syncId)),
      donePartitions: idArray(done.map((d) => String(d.partition))),
      shared: idArray(shared),
    });
    const [row] = await retryOnWriteConflict(() =>
      this.db.prepared<{ held: number[]; dueInMs: number | null }>(COMPLETE_GROUP.text, values),
    );
    return { held: new Set(row?.held ?? []), dueInMs: row?.dueInMs ?? null };
  }
}

function heldArguments(
  connectorId: number,
  held: readonly HeldPartition[],
  owner: string,
): Record<HeldParameter, unknown> {
  return {
    connectorId,
    owner,
    heldPartitions: idArray(held.map((h) => String(h.partition))),
    epochs: idArray(held.map((h) => h.epoch)),
  };
}
