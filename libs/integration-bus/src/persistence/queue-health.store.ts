import { Injectable } from '@nestjs/common';
import { dueSql, failingSinceEntrySql, heldBackSql, holdsSql } from './queue-rules.js';
import { BusDatabase, sqlRows } from './bus-database.js';

/** How one connector's queue in one direction stands, by the database's clock. */
export interface QueueHealthRow {
  connectorName: string;
  isInbound: boolean;
  /** Age of the oldest task still to deliver (parked ones left out), in seconds; null when none. */
  oldestTaskAgeSeconds: number | null;
  /**
   * How long the queue has been held by a failed head, in seconds; null when nothing blocks it.
   * Outgoing: since the first of the head's current run of failures (requeueing starts a new run);
   * incoming: since its last attempt (an incoming task in Error waits for someone, R-IN-3); 0 when
   * the head has no recorded attempt (set by hand).
   */
  blockedSeconds: number | null;
  /** How many leases of this queue `owner` holds now: 0 or 1, or its partitions with `ordering: 'object'`. */
  claimsHeld: number;
  /** Whether the connector is enabled (its row's switch, R-CON). */
  connectorEnabled: boolean;
}

/** Tasks one connector could take now, per direction (`QueueHealthStore.dueCounts`). */
export interface DueTasksRow {
  connectorName: string;
  isInbound: boolean;
  due: number;
}

/** The largest task id, for "no failed task before it". */
const NO_FAILURE = '9223372036854775807';

/** The queue's hold-back rule for a task of connector `c` (the statement's outer row). */
function held(taskId: string, partition: string, objectHash: string): string {
  return heldBackSql({ connector: 'c.id', partition, taskId, objectHash });
}

/**
 * Read-side SQL of the health checks and gauges: per connector and direction, the oldest task's
 * age, how long a failed head has blocked the queue, and whether a given instance holds the lease.
 *
 * Each lateral reads one row from an index: the oldest outgoing task walks the unique
 * (connector_id, task_id) index from its start (skipping incoming and parked rows, few in
 * practice), the oldest incoming one the partial index of inbound tasks, and the failed head the
 * partial state index. Ages come from the database's `now()`, so instances with skewed clocks
 * report the same numbers.
 */
@Injectable()
export class QueueHealthStore {
  constructor(private readonly db: BusDatabase) {}

  /**
   * Per connector and direction, the tasks a run would take now: outgoing ones due by the queue's
   * rules (`dueSql`: waiting, or unsuccessful with their retry time come; never parked) and not held
   * back behind a failed task (`heldBackSql`); incoming ones before the first in the Error process
   * type, which waits for someone (R-IN-3). A queue that is only backing off, or blocked by a failed
   * head waiting for its retry, has none: the "nobody processes" alert asks for due work, not for
   * any work. Counted in the database at scrape time, like the queue depth.
   */
  async dueCounts(): Promise<DueTasksRow[]> {
    const rows = await sqlRows<{ connectorName: string; outgoing: number; incoming: number }>(
      this.db.pool,
      `select c.code_name as "connectorName",
              (select count(*) from integration_synchronization s join integration_task t on t.id = s.task_id
                where s.connector_id = c.id and not t.is_inbound and ${dueSql('now()')}
                  and not ${held('s.task_id', 's.partition', 's.object_hash')})::int
              -- Lone tasks: queued for one connector, never attempted, so waiting.
              + (select count(*) from integration_task t
                  where t.connector_id = c.id and not ${held('t.id', 't.partition', 't.object_hash')})::int
                as outgoing,
              (select count(*) from integration_task t
                 join integration_synchronization s on s.task_id = t.id and s.connector_id = c.id
                where t.is_inbound and t.process_type <> 'ERROR'
                  and t.id < coalesce((select min(e.id) from integration_task e
                                         join integration_synchronization es on es.task_id = e.id
                                        where es.connector_id = c.id and e.is_inbound
                                          and e.process_type = 'ERROR'), ${NO_FAILURE}))::int as incoming
         from integration_connector c
        order by c.code_name`,
    );
    return rows.flatMap((r) => [
      { connectorName: r.connectorName, isInbound: false, due: r.outgoing },
      { connectorName: r.connectorName, isInbound: true, due: r.incoming },
    ]);
  }

  /** One row per connector and direction, ordered by connector. */
  async read(owner: string): Promise<QueueHealthRow[]> {
    const rows = await sqlRows<{
      connectorName: string;
      enabled: boolean;
      outgoingAge: number | null;
      outgoingBlocked: number | null;
      outgoingClaims: number;
      incomingAge: number | null;
      incomingBlocked: number | null;
      incomingClaims: number;
    }>(
      this.db.pool,
      `select c.code_name as "connectorName", c.enabled,
              extract(epoch from now() - oo.created_at)::float8 as "outgoingAge",
              extract(epoch from now() - ob.since)::float8 as "outgoingBlocked",
              coalesce(c.lease_owner = $1 and c.lease_until > now(), false)::int
                + (select count(*)::int from integration_partition_lease l
                    where l.connector_id = c.id and l.owner = $1 and l.lease_until > now()) as "outgoingClaims",
              extract(epoch from now() - io.created_at)::float8 as "incomingAge",
              extract(epoch from now() - ib.since)::float8 as "incomingBlocked",
              coalesce(c.incoming_lease_owner = $1 and c.incoming_lease_until > now(), false)::int
                as "incomingClaims"
         from integration_connector c
         left join lateral (
           -- The oldest of each kind, each from its own index: a join with the union of both ran a
           -- nested loop over the whole queue (minutes at 300,000 lone tasks).
           select min(o.created_at) as created_at from (
             (select t.created_at from integration_synchronization s join integration_task t on t.id = s.task_id
               where s.connector_id = c.id and not t.is_inbound and s.state is distinct from 'parked'
               order by s.task_id limit 1)
             union all
             -- The oldest lone task: the head of each partition, from the queue index.
             (select t.created_at from integration_task t
               where t.id = (select min(h.id) from generate_series(0, c.partitions) as p
                               cross join lateral (select min(id) as id from integration_task
                                                    where connector_id = c.id and partition = p) h))
           ) o) oo on true
         left join lateral (
           select coalesce(${failingSinceEntrySql('s', 'time')}, s.last_run, now()) as since
             from integration_synchronization s
            where s.connector_id = c.id and ${holdsSql('s')}
            order by s.task_id limit 1) ob on true
         left join lateral (
           select t.created_at from integration_task t
             join integration_synchronization s on s.task_id = t.id and s.connector_id = c.id
            where t.is_inbound order by t.id limit 1) io on true
         left join lateral (
           select coalesce(s.last_run, now()) as since from integration_task t
             join integration_synchronization s on s.task_id = t.id and s.connector_id = c.id
            where t.is_inbound and t.process_type = 'ERROR' order by t.id limit 1) ib on true
        order by c.code_name`,
      [owner],
    );
    return rows.flatMap((r) => [
      {
        connectorName: r.connectorName,
        isInbound: false,
        oldestTaskAgeSeconds: r.outgoingAge,
        blockedSeconds: r.outgoingBlocked,
        claimsHeld: r.outgoingClaims,
        connectorEnabled: r.enabled,
      },
      {
        connectorName: r.connectorName,
        isInbound: true,
        oldestTaskAgeSeconds: r.incomingAge,
        blockedSeconds: r.incomingBlocked,
        claimsHeld: r.incomingClaims,
        connectorEnabled: r.enabled,
      },
    ]);
  }
}
