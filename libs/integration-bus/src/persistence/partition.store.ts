import { Injectable } from '@nestjs/common';
import { BusDatabase, sqlRows } from './bus-database.js';
import { holdsSql, objectKeySql, partitionOfSql } from './queue-rules.js';
import { SYNCHRONIZATIONS } from './synchronizations.js';

/** A partition of a connector as the API shows it (R-ORD-2). */
export interface PartitionStatus {
  partition: number;
  /** The instance processing it now; null when nobody holds it. */
  heldBy: string | null;
  /** When the holder's lease runs out unless renewed. */
  leaseUntil: string | null;
  /** Synchronizations queued in it, whatever their state. */
  queued: number;
  /** Objects whose later tasks wait behind a failed one (R-ORD-1). */
  blockedObjects: number;
}

/** An object whose later tasks wait behind a failed one (R-ORD-1), as the API shows it. */
export interface BlockedObject {
  objectType: string;
  objectId: string | null;
  partition: number;
  /** The failed task that holds the object's later ones. */
  taskId: number;
  title: string;
  errorMessage: string | null;
  nextAttemptAt: string | null;
  /** The object's later tasks waiting behind it. */
  waiting: number;
}

/** SQL over the partitions of `ordering: 'object'` connectors (SPEC §12). */
@Injectable()
export class PartitionStore {
  constructor(private readonly db: BusDatabase) {}

  /**
   * Lays a connector's outgoing queue out in `partitions` partitions (0: one FIFO) when it was laid
   * out otherwise before, moving the queued synchronizations to the partition of their object's
   * hash, and makes sure every partition has a lease row. Runs at start-up; a no-op when nothing
   * changed. An object's synchronizations always move together, so its order is kept.
   */
  async layOut(connectorId: number, partitions: number): Promise<void> {
    await this.db.transaction(async (trx) => {
      const [row] = await sqlRows<{ partitions: number }>(
        trx,
        `select partitions from integration_connector where id = $1 for update`,
        [connectorId],
      );
      if (!row) return;
      if (row.partitions !== partitions) {
        if (partitions === 0) {
          await sqlRows(
            trx,
            `with lone as (update integration_task set partition = 0, object_hash = null
                             where connector_id = $1 and partition > 0)
             update integration_synchronization set partition = 0, object_hash = null
              where connector_id = $1 and partition > 0`,
            [connectorId],
          );
        } else {
          const hash = `hashtextextended(${objectKeySql('t.object_type', 't.object_id', 't.node_id', 't.title')}, 0)`;
          await sqlRows(
            trx,
            `with lone as (update integration_task t
                              set object_hash = ${hash}, partition = ${partitionOfSql(hash, '$2::int')}
                            where t.connector_id = $1)
             update integration_synchronization s
                set object_hash = h.hash, partition = ${partitionOfSql('h.hash', '$2::int')}
               from integration_task t cross join lateral (select ${hash} as hash) h
              where t.id = s.task_id and s.connector_id = $1 and not t.is_inbound`,
            [connectorId, partitions],
          );
        }
        await sqlRows(trx, `update integration_connector set partitions = $2 where id = $1`, [
          connectorId,
          partitions,
        ]);
        // Fresh statistics for the moved rows: the drain's prepared statements are planned once for
        // any partition, from these (with the old ones, every row looked like partition 0, and the
        // plan walked the whole table's primary key instead of the partition's index: 2.5 times slower).
        await sqlRows(trx, `analyze integration_task, integration_synchronization`);
      }
      await sqlRows(
        trx,
        `with gone as (delete from integration_partition_lease where connector_id = $1 and partition > $2)
         insert into integration_partition_lease (connector_id, partition)
         select $1, p from generate_series(1, $2::int) as p on conflict do nothing`,
        [connectorId, partitions],
      );
    });
  }

  /**
   * The partitions of a connector that have work due now (waiting, or a retry whose time has come),
   * one index probe each.
   */
  async withWork(connectorId: number, partitions: number): Promise<number[]> {
    const rows = await sqlRows<{ p: number }>(
      this.db.pool,
      `select p from generate_series(1, $2::int) as p
        where exists (select 1 from integration_task t where t.connector_id = $1 and t.partition = p)
           or exists (select 1 from integration_synchronization s
                       where s.connector_id = $1 and s.partition = p
                         and (s.state is null
                              or (s.state <> 'parked'
                                  and coalesce(s.next_attempt_at, '-infinity') <= clock_timestamp())))`,
      [connectorId, partitions],
    );
    return rows.map((r) => r.p);
  }

  /**
   * Every partition of a connector: who holds it, how much is queued, how many objects are blocked.
   * A connector with one FIFO shows its queue as partition 0.
   */
  status(connectorId: number): Promise<PartitionStatus[]> {
    return sqlRows<PartitionStatus>(
      this.db.pool,
      `with leases as (
         select l.partition, l.owner, l.lease_until from integration_partition_lease l where l.connector_id = $1
         union all
         select 0, c.lease_owner, c.lease_until from integration_connector c
          where c.id = $1 and c.partitions = 0
       )
       select l.partition::int as partition,
              case when l.lease_until > clock_timestamp() then l.owner end as "heldBy",
              case when l.lease_until > clock_timestamp() then to_json(l.lease_until) #>> '{}' end as "leaseUntil",
              (select count(*)::int from ${SYNCHRONIZATIONS} s
                where s.connector_id = $1 and s.partition = l.partition) as queued,
              (select count(distinct coalesce(s.object_hash, 0))::int from integration_synchronization s
                where s.connector_id = $1 and s.partition = l.partition and ${holdsSql('s')})
                as "blockedObjects"
         from leases l
        order by l.partition`,
      [connectorId],
    );
  }

  /** The objects of a connector held back by a failed task (R-ORD-1), oldest first, at most `limit`. */
  blockedObjects(connectorId: number, limit: number): Promise<BlockedObject[]> {
    return sqlRows<BlockedObject>(
      this.db.pool,
      `select t.object_type as "objectType", t.object_id as "objectId", s.partition::int as partition,
              t.id::int as "taskId", t.title, s.error_message as "errorMessage",
              to_json(s.next_attempt_at) #>> '{}' as "nextAttemptAt",
              (select count(*)::int from ${SYNCHRONIZATIONS} w
                where w.connector_id = s.connector_id and w.partition = s.partition
                  and w.object_hash = s.object_hash and w.task_id > s.task_id) as waiting
         from integration_synchronization s join integration_task t on t.id = s.task_id
        where s.connector_id = $1 and ${holdsSql('s')} and s.object_hash is not null
        order by s.task_id
        limit $2`,
      [connectorId, limit],
    );
  }
}
