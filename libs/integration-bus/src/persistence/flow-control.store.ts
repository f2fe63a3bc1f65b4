import { Injectable } from '@nestjs/common';
import { BusDatabase, sqlRows } from './bus-database.js';
import { backingOffSql } from './queue-rules.js';

/**
 * What `takeProbeSlot` found: `idle`, the connector backs off nothing (stop probing); `taken`, this
 * caller may probe now; `elsewhere`, another instance probed within the interval.
 */
export type ProbeSlot = 'idle' | 'taken' | 'elsewhere';

/** A call slot taken under a connector's `rateLimit` (see `FlowControlStore.takeCallSlot`). */
export interface CallSlot {
  /** How long the caller waits before its call starts, in ms: 0 when the slot has started. */
  waitMs: number;
  /** When the slot starts by the database's clock, in ms since the epoch. */
  startsAtMs: number;
}

/** A connector's flow-control state, as the API shows it. */
export interface FlowControlState {
  connectorId: number;
  /** Until when the connector is paused, in ms since the epoch. */
  pausedUntilMs: number;
}

/**
 * SQL over `integration_flow_control` (R-EXT-2): the pace of a connector's calls across every
 * instance, and its pause.
 *
 * The rate limit is a generic cell rate algorithm without burst, by reservation: each call takes the
 * connector's next slot, which starts at `next_call_at` or now, whichever is later, and moves
 * `next_call_at` one interval (`perMs / requests`) past it; the caller waits until its slot starts.
 * Taking a slot is one `insert … on conflict do update` statement: two instances asking at once are
 * serialized by the row lock, and the second is given the slot after the first's. So the calls of all
 * instances start at least an interval apart by the database's clock, any window of `perMs` holds at
 * most `requests` of them, and a connector kept busy gets its full rate, not less: the slots follow
 * each other without the time of a second question. The cost: one round trip per call (a batch call
 * is one call), and none for a connector without `rateLimit`. A caller that gives its slot up (its run
 * stopped while waiting) leaves it unused: the pace can only get slower, never faster. A call reaches
 * the external system a network delay and a timer's lateness after its slot starts, so two calls may
 * arrive a little less than an interval apart; a quota counted to the exact request needs a limit set
 * a little below it.
 */
@Injectable()
export class FlowControlStore {
  constructor(private readonly db: BusDatabase) {}

  /**
   * Takes the connector's next call slot under a limit of one call per `intervalMs`.
   * @returns how long to wait before the call starts, in ms (0: now), and when its slot starts by
   *   the database's clock (ms since the epoch)
   */
  async takeCallSlot(connectorId: number, intervalMs: number): Promise<CallSlot> {
    const [row] = await sqlRows<{ wait_ms: number; starts_at_ms: number }>(
      this.db.pool,
      `with slot as (
         insert into integration_flow_control as f (connector_id, next_call_at)
         values ($1, clock_timestamp() + $2 * interval '1 millisecond')
         on conflict (connector_id) do update
           set next_call_at = greatest(f.next_call_at, clock_timestamp()) + $2 * interval '1 millisecond'
         returning f.next_call_at - $2 * interval '1 millisecond' as starts_at)
       select greatest(0, extract(epoch from starts_at - clock_timestamp()) * 1000)::float8 as wait_ms,
              (extract(epoch from starts_at) * 1000)::float8 as starts_at_ms
         from slot`,
      [connectorId, intervalMs],
    );
    return { waitMs: row!.wait_ms, startsAtMs: row!.starts_at_ms };
  }

  /**
   * The recovery probe's turn (R-EXT-2): while the connector backs off a failed task
   * (`backingOffSql`), one caller per `intervalMs` across every instance gets `taken`, by the same
   * one-statement check-and-move as `takeCallSlot` on `next_probe_at`. So each instance running
   * the connector (or some of its partitions) may keep a probe timer, and the external system is
   * still probed once per interval. Costs one round trip per interval per such instance, only while
   * the connector backs off.
   */
  async takeProbeSlot(connectorId: number, intervalMs: number): Promise<ProbeSlot> {
    const [row] = await sqlRows<{ blocked: boolean; taken: boolean }>(
      this.db.pool,
      `with blocked as materialized (
         select exists (select 1 from integration_synchronization s where ${backingOffSql('$1')}) as yes
       ), taken as (
         insert into integration_flow_control as f (connector_id, next_probe_at)
         select $1, clock_timestamp() + $2 * interval '1 millisecond' where (select yes from blocked)
         on conflict (connector_id) do update set next_probe_at = excluded.next_probe_at
          where f.next_probe_at is null or f.next_probe_at <= clock_timestamp()
         returning 1)
       select (select yes from blocked) as blocked, exists (select 1 from taken) as taken`,
      [connectorId, intervalMs],
    );
    if (!row?.blocked) return 'idle';
    return row.taken ? 'taken' : 'elsewhere';
  }

  /**
   * The probe answered that the external system is back: the connector's backing-off tasks
   * (`backingOffSql`) become due now, their state, attempts and failures kept, as "retry now" does
   * (`TaskAdminStore.makeDue`). Parked and skipped tasks are not touched.
   * @returns how many were made due
   */
  async makeBackingOffDue(connectorId: number): Promise<number> {
    const rows = await sqlRows<{ id: string }>(
      this.db.pool,
      `update integration_synchronization s set next_attempt_at = clock_timestamp()
        where ${backingOffSql('$1')} returning s.id`,
      [connectorId],
    );
    return rows.length;
  }

  /** Pauses the connector for `ms` from now, on every instance (never shortens a longer pause). */
  async pause(connectorId: number, ms: number): Promise<void> {
    await sqlRows(
      this.db.pool,
      `insert into integration_flow_control as f (connector_id, paused_until)
       values ($1, clock_timestamp() + $2 * interval '1 millisecond')
       on conflict (connector_id) do update
         set paused_until = greatest(f.paused_until, excluded.paused_until)`,
      [connectorId, ms],
    );
  }

  /** The connectors that are paused now. */
  paused(): Promise<FlowControlState[]> {
    return sqlRows<FlowControlState>(
      this.db.pool,
      `select connector_id as "connectorId", (extract(epoch from paused_until) * 1000)::float8 as "pausedUntilMs"
         from integration_flow_control where paused_until > clock_timestamp()`,
    );
  }
}
