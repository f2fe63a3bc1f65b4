/** The shapes of the management API's answers the page reads (see the OpenAPI document). */

/** One status per synchronization (R-DEL-7). */
export type SynchronizationStatus = 'waiting' | 'failed' | 'retrying' | 'skipped' | 'parked';

/** `outgoing` or `incoming`. */
export type Direction = 'outgoing' | 'incoming';

/** The five switches. */
export interface Settings {
  enabled: boolean;
  logOutgoing: boolean;
  processOutgoing: boolean;
  logIncoming: boolean;
  processIncoming: boolean;
}

/** A row of `GET /connectors`. */
export interface Connector {
  codeName: string;
  displayName: string;
  className: string | null;
  enabled: boolean;
  loaded: boolean;
  notLoadedReason: string | null;
  /** One FIFO per connector or per object; null when no provider is loaded. */
  ordering: 'connector' | 'object' | null;
  partitions: number | null;
  /** Tasks per call (above 1: batches); null when no provider is loaded. */
  maxBatchSize: number | null;
  /** How many of its calls may be under way at once; null when no provider is loaded. */
  maxCallsInFlight: number | null;
  /** Its pace across instances, or null. */
  rateLimit: { requests: number; perMs: number } | null;
  /** Until when an answer paused it (ISO 8601), or null. */
  pausedUntil: string | null;
  /** How often its probe is asked while it backs off, or null without a probe. */
  probeIntervalMs: number | null;
  /** `'latest'` when only an object's latest queued change is delivered, or null. */
  coalesce: 'latest' | null;
}

/** `GET /connectors/:codeName/partitions`. */
export interface ConnectorPartitions {
  codeName: string;
  ordering: 'connector' | 'object';
  concurrency: number;
  liveInstances: number;
  partitions: {
    partition: number;
    heldBy: string | null;
    leaseUntil: string | null;
    queued: number;
    blockedObjects: number;
  }[];
  blockedObjects: {
    objectType: string;
    objectId: string | null;
    partition: number;
    taskId: number;
    title: string;
    errorMessage: string | null;
    nextAttemptAt: string | null;
    waiting: number;
  }[];
}

/** A row of `GET /tasks`. */
export interface TaskListItem {
  taskId: number;
  title: string;
  taskType: string;
  objectType: string;
  siteName: string | null;
  createdAt: string;
  connectorName: string;
  connectorDisplayName: string;
  status: SynchronizationStatus;
  errorMessage: string | null;
  nextAttemptAt: string | null;
  attempts: number;
  blockedBy: number | null;
}

/** A page of a keyset-paginated list. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A translated foreign key of a task. */
export interface RelatedRecord {
  property: string;
  objectType: string;
  id: unknown;
  codeName: unknown;
  siteName: unknown;
  parentType: unknown;
  parentId: unknown;
  groupId: unknown;
  nodeGuid: unknown;
  culture: unknown;
}

/** A synchronization in a task's detail. */
export interface TaskSynchronization {
  connectorName: string;
  connectorDisplayName: string;
  attempts: number;
  lastRun: string | null;
  errorMessage: string | null;
  nextAttemptAt: string | null;
  status: SynchronizationStatus;
  blockedBy: number | null;
  log: { time: string; errorMessage: string }[];
}

/** `GET /tasks/:id`. */
export interface TaskDetail {
  id: number;
  title: string;
  direction: Direction;
  taskType: string;
  createdAt: string;
  objectType: string;
  objectId: string | null;
  siteName: string | null;
  dataType: string;
  processType: string;
  aliasPath: string | null;
  entity: string | null;
  data: Record<string, unknown> | null;
  relatedData: RelatedRecord[];
  children: Record<string, { data: Record<string, unknown>; relatedData: RelatedRecord[] }[]> | null;
  synchronizations: TaskSynchronization[];
}

/** A row of `GET /event-log`. */
export interface EventLogEntry {
  id: number;
  time: string;
  level: string;
  source: string;
  eventCode: string;
  message: string;
  connectorName: string | null;
  taskId: number | null;
}

/** A count per processing result. */
export type ResultCounts = Partial<Record<'OK' | 'ERROR' | 'ERRORANDSKIP' | 'SKIPNOW', number>>;

/** What a retention pass removed, by kind. */
export interface RetentionRemoved {
  syncLog: number;
  eventLog: number;
  idempotencyKeys: number;
  parkedSynchronizations: number;
  parkedTasks: number;
  intakeSequences: number;
}

/** `GET /retention` (R-OPS-1). */
export interface RetentionStatus {
  settings: {
    syncLogDays: number | null;
    eventLogDays: number | null;
    eventLogMaxRows: number | null;
    parkedDays: number | null;
    intakeSequenceDays: number | null;
    idempotencyWindowMs: number;
  };
  intervalMs: number;
  lastPass: {
    startedAt: string;
    finishedAt: string;
    outcome: 'done' | 'more' | 'skipped' | 'failed';
    removed: RetentionRemoved;
    batches: number;
    error?: string;
  } | null;
  nextPassAt: string | null;
  oldest: {
    syncLog: string | null;
    eventLog: string | null;
    parked: string | null;
    idempotencyKey: string | null;
  };
}
