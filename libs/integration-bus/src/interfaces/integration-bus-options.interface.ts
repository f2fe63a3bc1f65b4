import type { Registry } from 'prom-client';

/** The five switches of SPEC §6. */
export interface IntegrationBusSettings {
  /** The whole bus; the four below work only while it is on. */
  enabled: boolean;
  logOutgoing: boolean;
  processOutgoing: boolean;
  logIncoming: boolean;
  processIncoming: boolean;
}

/**
 * How long the bus keeps its logs and leftovers (R-OPS-1). A pass prunes them every few minutes, in
 * bounded batches, on one instance at a time; `null` keeps that kind for ever. Expired idempotency
 * keys (older than `idempotencyWindowMs`) are always pruned.
 */
export interface IntegrationBusRetentionOptions {
  /**
   * Days a sync-log entry (the message of an attempt that did not succeed) is kept. A failed task
   * keeps the entry its current run of failures began with, which dates how long it has blocked
   * its queue; the task itself keeps its last message and attempt time whatever this says.
   * @default 30
   */
  syncLogDays?: number | null;
  /** Days an event-log entry is kept. @default 30 */
  eventLogDays?: number | null;
  /** Most event-log entries kept: beyond it, the oldest go. @default null (no cap) */
  eventLogMaxRows?: number | null;
  /**
   * Days a parked synchronization is kept after its last attempt; then it is deleted, and its task
   * too once no connector is left queued for it. @default null (kept until requeued or deleted)
   */
  parkedDays?: number | null;
  /**
   * Days an object's highest intake sequence (`integration_intake_sequence`, R-DEL-2) is kept after
   * the last task logged for it. Once it is forgotten, a message older than the last one logged for
   * that object is no longer recognised as older: a message arriving more than this late after the
   * object's newest one may be applied again. @default null (kept for ever: never applied again)
   */
  intakeSequenceDays?: number | null;
}

/** Options of `IntegrationBusModule.forRoot` / `forRootAsync`. Every field is optional. */
export interface IntegrationBusModuleOptions {
  /** Initial values of the switches, used until changed at run time. @default all `true` */
  settings?: Partial<IntegrationBusSettings>;
  incoming?: {
    /** Cron expression of the job "Process external integration tasks". @default `'0 * * * * *'` (every minute) */
    cron?: string;
    /** Whether the job is scheduled at all. @default true */
    enabled?: boolean;
  };
  outgoing?: {
    /** Start processing the touched connectors when a unit of work that logged tasks commits. @default true */
    processAfterCommit?: boolean;
    /** Period of the retry sweep over every connector, in milliseconds; `0` turns it off. @default 60000 */
    sweepIntervalMs?: number;
  };
  http?: {
    /** Prefix of the REST API and admin page. @default `'integration'` */
    path?: string;
    /** Bearer token of the admin API and page. */
    adminToken?: string;
    /**
     * Read-only bearer token (R-OPS-2): the admin API's reads (`GET`), the admin page without its
     * actions, the metrics and the OpenAPI document; any write with it is a 403. Must differ from
     * `adminToken`. @default none
     */
    viewerToken?: string;
    /** Bearer token of `notify` and `incoming`. */
    notifyToken?: string;
    /** Serve the admin API without a token when none is configured. @default false */
    allowUnauthenticated?: boolean;
  };
  metrics?: {
    /**
     * A prom-client registry of the host's (e.g. prom-client's default `register`) to register the
     * bus's metrics in as well, beside `GET /{http.path}/metrics`. With it, the counters count from
     * start-up instead of from the first scrape of that route. @default none
     */
    registry?: Registry;
  };
  /**
   * Thresholds of `IntegrationBusHealthIndicator` and `GET /{http.path}/health`. The database and
   * the LISTEN connection are always checked; each queue threshold is off until set.
   */
  health?: {
    /** Down when a connector's oldest task still to deliver is older than this, in milliseconds. @default null (off) */
    maxTaskAgeMs?: number | null;
    /** Down when a failed task has blocked a connector's queue for longer than this, in milliseconds. @default null (off) */
    maxBlockedMs?: number | null;
    /** Down when a connector has more parked tasks than this. @default null (off) */
    maxParked?: number | null;
  };
  /**
   * Tasks fetched and completed per round trip. A crash repeats at most one batch.
   * @default 500
   */
  batchSize?: number;
  /**
   * Longest time a batch's processed tasks wait before their outcome is written, in milliseconds:
   * with a slow connector, a batch is cut short here (the rest is read again with the next round
   * trip), which bounds what a crash repeats and how long the admin page shows done tasks as queued.
   * @default 1000
   */
  batchMaxDurationMs?: number;
  /**
   * How long a connector's processing lease lasts without renewal, in milliseconds. It is renewed
   * every third of this while a run lasts; when an instance dies, another takes its connectors over
   * when the lease runs out (R-DEL-3), and a paused instance stops calling connectors once it may
   * have run out (R-DEL-2). @default 6000
   */
  leaseMs?: number;
  /**
   * Longest the application's shutdown waits for the runs under way, in milliseconds. After it,
   * the runs are interrupted: what they finished is written, the task being called is left queued
   * (it is delivered again later), and the leases are handed back (R-DEL-4). @default 10000
   */
  shutdownTimeoutMs?: number;
  /**
   * How long an idempotency key (`processExternalTask`'s `idempotencyKey`, the ingest route's
   * `Idempotency-Key` header, a broker message id) is remembered, in milliseconds: within it, the
   * same key for the same connector returns the task already logged and logs nothing (R-ECO-3).
   * @default 604800000 (7 days)
   */
  idempotencyWindowMs?: number;
  /**
   * Whether the drain's and the leases' statements run as named prepared statements, planned once
   * per connection (the drain is about 1.6 times faster with them). Turn off behind a connection
   * pooler that cannot keep prepared statements across transactions (PgBouncer in transaction mode
   * before 1.21, or without `max_prepared_statements`). @default true
   */
  preparedStatements?: boolean;
  /** How long logs, expired idempotency keys and parked tasks are kept (R-OPS-1). */
  retention?: IntegrationBusRetentionOptions;
}

/** Options after defaults and validation. */
export interface ResolvedIntegrationBusOptions {
  settings: IntegrationBusSettings;
  incoming: { cron: string; enabled: boolean };
  outgoing: { processAfterCommit: boolean; sweepIntervalMs: number };
  http: {
    path: string;
    adminToken?: string;
    viewerToken?: string;
    notifyToken?: string;
    allowUnauthenticated: boolean;
  };
  metrics: { registry?: Registry };
  health: { maxTaskAgeMs: number | null; maxBlockedMs: number | null; maxParked: number | null };
  batchSize: number;
  batchMaxDurationMs: number;
  leaseMs: number;
  shutdownTimeoutMs: number;
  idempotencyWindowMs: number;
  preparedStatements: boolean;
  retention: ResolvedRetentionOptions;
}

/** `retention` after defaults and validation; `null` keeps that kind for ever (no cap). */
export interface ResolvedRetentionOptions {
  syncLogDays: number | null;
  eventLogDays: number | null;
  eventLogMaxRows: number | null;
  parkedDays: number | null;
  intakeSequenceDays: number | null;
}
