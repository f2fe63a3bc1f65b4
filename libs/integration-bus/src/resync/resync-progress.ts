import type { ResyncRecord, ResyncStatus } from './resync.store.js';

/** Options of `IntegrationBus.resync` (R-RES-1). */
export interface ResyncOptions {
  /** The object type (`cms.user`), or the class name of a document type, to resync. */
  objectType: string;
  /**
   * Only the rows this MikroORM filter selects, e.g. `{ site: { name: 'main' }, id: { $gt: 100 } }`:
   * properties of the entity (and of its to-one relations' targets), `$and`, `$or`, `$not` and the
   * comparison operators; applied through the ORM, never as SQL text. Default: every row.
   */
  where?: Record<string, unknown>;
  /** Rows per chunk (one transaction each) [1,000; 1 to 10,000]. */
  chunkSize?: number;
}

/** Where a resync stands, as the API, the admin page and `IntegrationBus.getResyncs` report it. */
export interface ResyncProgress {
  id: number;
  connectorName: string;
  objectType: string;
  where: Record<string, unknown> | null;
  chunkSize: number;
  /** `running`, `done`, `cancelled` or `failed` (see `errorMessage`). */
  status: ResyncStatus;
  /** Rows done (their tasks logged, or not for the connector's subscriptions). */
  done: number;
  /** Rows to do: counted at the start; once done, the rows that were done. */
  total: number;
  /** `done` of `total`, 0 to 100. */
  percent: number;
  /** Chunks done. */
  chunks: number;
  /** Rows per second over the recent chunks; null before the first. */
  ratePerSecond: number | null;
  /** Seconds left at that rate; null when unknown or not running. */
  etaSeconds: number | null;
  errorMessage: string | null;
  /** The instance running it now (null when none holds it). */
  runningOn: string | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** The progress a stored resync shows. */
export function progressOf(record: ResyncRecord): ResyncProgress {
  // Rows created meanwhile are done too: the total never shows less than what was done.
  const total = Math.max(record.total, record.done);
  const left = total - record.done;
  const running = record.status === 'running';
  return {
    id: record.id,
    connectorName: record.connectorName,
    objectType: record.objectType,
    where: record.where,
    chunkSize: record.chunkSize,
    status: record.status,
    done: record.done,
    total,
    percent: total === 0 ? (running ? 0 : 100) : Math.floor((1000 * record.done) / total) / 10,
    chunks: record.chunks,
    ratePerSecond: record.rate === null ? null : Math.round(record.rate),
    etaSeconds: running && record.rate ? Math.ceil(left / record.rate) : null,
    errorMessage: record.errorMessage,
    runningOn: record.leaseOwner,
    startedAt: record.startedAt,
    updatedAt: record.updatedAt,
    finishedAt: record.finishedAt,
  };
}
