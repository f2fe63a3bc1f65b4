import { EntitySchema } from '@mikro-orm/core';
import { cleanupTrigger } from './cleanup-triggers.js';

/*
 * The bus's tables as MikroORM entities. The bus itself reads and writes them with SQL (persistence/
 * *.store.ts); the schemas exist so that the host's schema diff knows these tables and does not
 * propose dropping them, and so that the host can query them if it wants to.
 */

/** A row of `integration_connector`. */
export interface IntegrationConnectorRow {
  id: number;
  codeName: string;
  displayName: string;
  className: string;
  enabled: boolean;
  leaseOwner?: string | null;
  leaseUntil?: Date | null;
  incomingLeaseOwner?: string | null;
  incomingLeaseUntil?: Date | null;
  leaseEpoch: string;
  incomingLeaseEpoch: string;
  /** The partitions its queued synchronizations are laid out in (0: one FIFO). */
  partitions: number;
  createdAt: Date;
}

/** A row of `integration_task`. */
export interface IntegrationTaskRow {
  id: string;
  guid: string;
  title: string;
  taskType: string;
  objectType: string;
  objectId?: string | null;
  nodeId?: string | null;
  documentId?: string | null;
  aliasPath?: string | null;
  siteName?: string | null;
  isInbound: boolean;
  dataType: string;
  processType: string;
  data: unknown;
  /** W3C `traceparent` of the task's `create` span, when it was logged inside a trace (R-ECO-4). */
  traceParent?: string | null;
  /**
   * The task's only connector while its synchronization waits for a first attempt, with that
   * synchronization's handler, partition and object hash: such a task has no row in
   * `integration_synchronization` (see `Migration20261201400000LoneTasks`). Null otherwise.
   */
  connectorId?: number | null;
  handler?: string | null;
  partition: number;
  objectHash?: string | null;
  createdAt: Date;
}

/** A row of `integration_synchronization`. */
export interface IntegrationSynchronizationRow {
  id: string;
  task: IntegrationTaskRow;
  connector: IntegrationConnectorRow;
  handler?: string | null;
  attempts: number;
  lastRun?: Date | null;
  errorMessage?: string | null;
  nextAttemptAt?: Date | null;
  /** The last attempt's outcome: `failed`, `retrying`, `skipped` or `parked`; null while waiting. */
  state?: string | null;
  /** Failed attempts counted towards `retry.maxAttempts` (SkipNow is not a failure). */
  failures: number;
  /** SkipNow answers counted towards `retry.skipNow.maxAttempts` (R-EXT-4). */
  skips: number;
  /** 1..partitions for a connector with `ordering: 'object'`, 0 for one FIFO (R-ORD-2). */
  partition: number;
  /** The hash of the object key, with `ordering: 'object'`: what an Error holds back (R-ORD-1). */
  objectHash?: string | null;
}

/** A row of `integration_partition_lease`: who processes a partition of a connector (R-ORD-2). */
export interface IntegrationPartitionLeaseRow {
  connectorId: number;
  partition: number;
  owner?: string | null;
  leaseUntil?: Date | null;
  epoch: string;
}

/** A row of `integration_instance`: a live instance, which takes its share of the partitions (R-ORD-3). */
export interface IntegrationInstanceRow {
  owner: string;
  seenUntil: Date;
}

/** A row of `integration_sync_log`. */
export interface IntegrationSyncLogRow {
  id: string;
  synchronization: IntegrationSynchronizationRow;
  time: Date;
  errorMessage: string;
}

/** A row of `integration_setting`. */
export interface IntegrationSettingRow {
  key: string;
  value: boolean;
  updatedAt: Date;
}

/** A row of `integration_event_log`. */
export interface IntegrationEventLogRow {
  id: string;
  time: Date;
  level: string;
  source: string;
  eventCode: string;
  message: string;
  connectorName?: string | null;
  taskId?: string | null;
}

/** A row of `integration_idempotency_key`: a key an incoming task was logged with (R-ECO-3). */
export interface IntegrationIdempotencyKeyRow {
  connectorId: number;
  key: string;
  /** The logged task as `processExternalTask` returned it (`IntegrationTaskInfo`). */
  task: unknown;
  createdAt: Date;
}

/**
 * A row of `integration_intake_sequence`: the highest `sequence` an incoming task was logged with for
 * an object, as its sender keys it (R-DEL-2); an older or equal one is dropped at intake.
 */
export interface IntegrationIntakeSequenceRow {
  connector: IntegrationConnectorRow;
  /** The object's key as the sender knows it (`processExternalTask`'s `sequenceKey`). */
  sequenceKey: string;
  sequence: string;
  updatedAt: Date;
}

/**
 * A row of `integration_flow_control` (R-EXT-2): when a connector's next call may start under its
 * `rateLimit`, and until when it is paused; see `FlowControlStore`.
 */
export interface IntegrationFlowControlRow {
  connector: IntegrationConnectorRow;
  nextCallAt?: Date | null;
  pausedUntil?: Date | null;
  /** When the connector's recovery probe may next be called (see `FlowControlStore.takeProbeSlot`). */
  nextProbeAt?: Date | null;
}

const now = { defaultRaw: 'now()', columnType: 'timestamptz' } as const;

export const IntegrationConnectorSchema = new EntitySchema<IntegrationConnectorRow>({
  name: 'IntegrationConnectorRow',
  tableName: 'integration_connector',
  triggers: [cleanupTrigger('integration_connector')],
  properties: {
    id: { type: 'integer', primary: true, autoincrement: true },
    codeName: { type: 'string', length: 100, unique: 'integration_connector_code_name_unique' },
    displayName: { type: 'string', length: 200 },
    className: { type: 'string', length: 200 },
    enabled: { type: 'boolean', default: true },
    leaseOwner: { type: 'string', length: 100, nullable: true },
    leaseUntil: { type: 'datetime', columnType: 'timestamptz', nullable: true },
    incomingLeaseOwner: { type: 'string', length: 100, nullable: true },
    incomingLeaseUntil: { type: 'datetime', columnType: 'timestamptz', nullable: true },
    leaseEpoch: { type: 'bigint', defaultRaw: '0' },
    incomingLeaseEpoch: { type: 'bigint', defaultRaw: '0' },
    partitions: { type: 'smallint', defaultRaw: '0' },
    createdAt: { type: 'datetime', ...now },
  },
});

export const IntegrationTaskSchema = new EntitySchema<IntegrationTaskRow>({
  name: 'IntegrationTaskRow',
  tableName: 'integration_task',
  triggers: [cleanupTrigger('integration_task')],
  indexes: [
    {
      name: 'integration_task_inbound_id_index',
      expression:
        'create index "integration_task_inbound_id_index" on "integration_task" ("id") where "is_inbound"',
    },
    {
      name: 'integration_task_queue_index',
      expression: `create index "integration_task_queue_index" on "integration_task"
        ("connector_id", "partition", "id") where "connector_id" is not null`,
    },
  ],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    guid: { type: 'uuid' },
    title: { type: 'string', length: 450 },
    taskType: { type: 'string', length: 50 },
    objectType: { type: 'string', length: 200 },
    objectId: { type: 'string', length: 100, nullable: true },
    nodeId: { type: 'string', length: 100, nullable: true },
    documentId: { type: 'string', length: 100, nullable: true },
    aliasPath: { type: 'string', length: 450, nullable: true },
    siteName: { type: 'string', length: 100, nullable: true },
    isInbound: { type: 'boolean', default: false },
    dataType: { type: 'string', length: 50 },
    processType: { type: 'string', length: 50 },
    // Written once and read back whole: stored as text (see Migration20261201110000TaskPayloadJson).
    data: { type: 'json', columnType: 'json' },
    traceParent: { type: 'string', length: 55, nullable: true },
    connectorId: { type: 'integer', nullable: true },
    handler: { type: 'string', length: 200, nullable: true },
    partition: { type: 'smallint', defaultRaw: '0' },
    objectHash: { type: 'bigint', nullable: true },
    createdAt: { type: 'datetime', ...now },
  },
});

export const IntegrationSynchronizationSchema = new EntitySchema<IntegrationSynchronizationRow>({
  name: 'IntegrationSynchronizationRow',
  tableName: 'integration_synchronization',
  triggers: [cleanupTrigger('integration_synchronization')],
  uniques: [{ name: 'integration_synchronization_connector_task_unique', properties: ['connector', 'task'] }],
  indexes: [
    {
      name: 'integration_synchronization_state_index',
      expression: `create index "integration_synchronization_state_index" on "integration_synchronization"
        ("connector_id", "task_id") include ("state", "next_attempt_at") where "state" is not null`,
    },
    {
      name: 'integration_synchronization_partition_index',
      expression: `create index "integration_synchronization_partition_index" on "integration_synchronization"
        ("connector_id", "partition", "task_id") where "partition" > 0`,
    },
    {
      name: 'integration_synchronization_failed_object_index',
      expression: `create index "integration_synchronization_failed_object_index" on "integration_synchronization"
        ("connector_id", "object_hash", "task_id") where "state" = 'failed' and "object_hash" is not null`,
    },
  ],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    task: {
      kind: 'm:1',
      entity: () => IntegrationTaskSchema,
      createForeignKeyConstraint: false,
      index: 'integration_synchronization_task_id_index',
    },
    connector: {
      kind: 'm:1',
      entity: () => IntegrationConnectorSchema,
      createForeignKeyConstraint: false,
    },
    handler: { type: 'string', length: 200, nullable: true },
    attempts: { type: 'integer', default: 0 },
    lastRun: { type: 'datetime', columnType: 'timestamptz', nullable: true },
    errorMessage: { type: 'text', nullable: true },
    nextAttemptAt: { type: 'datetime', columnType: 'timestamptz', nullable: true },
    state: { type: 'string', length: 20, nullable: true },
    failures: { type: 'integer', default: 0 },
    skips: { type: 'integer', default: 0 },
    partition: { type: 'smallint', defaultRaw: '0' },
    objectHash: { type: 'bigint', nullable: true },
  },
});

export const IntegrationPartitionLeaseSchema = new EntitySchema<IntegrationPartitionLeaseRow>({
  name: 'IntegrationPartitionLeaseRow',
  tableName: 'integration_partition_lease',
  properties: {
    connectorId: { type: 'integer', primary: true },
    partition: { type: 'smallint', primary: true },
    owner: { type: 'string', length: 100, nullable: true },
    leaseUntil: { type: 'datetime', columnType: 'timestamptz', nullable: true },
    epoch: { type: 'bigint', defaultRaw: '0' },
  },
});

export const IntegrationInstanceSchema = new EntitySchema<IntegrationInstanceRow>({
  name: 'IntegrationInstanceRow',
  tableName: 'integration_instance',
  properties: {
    owner: { type: 'string', length: 100, primary: true },
    seenUntil: { type: 'datetime', columnType: 'timestamptz' },
  },
});

export const IntegrationSyncLogSchema = new EntitySchema<IntegrationSyncLogRow>({
  name: 'IntegrationSyncLogRow',
  tableName: 'integration_sync_log',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    synchronization: {
      kind: 'm:1',
      entity: () => IntegrationSynchronizationSchema,
      createForeignKeyConstraint: false,
      index: 'integration_sync_log_synchronization_id_index',
    },
    time: { type: 'datetime', ...now },
    errorMessage: { type: 'text' },
  },
});

export const IntegrationSettingSchema = new EntitySchema<IntegrationSettingRow>({
  name: 'IntegrationSettingRow',
  tableName: 'integration_setting',
  properties: {
    key: { type: 'string', length: 100, primary: true },
    value: { type: 'boolean' },
    updatedAt: { type: 'datetime', ...now },
  },
});

export const IntegrationEventLogSchema = new EntitySchema<IntegrationEventLogRow>({
  name: 'IntegrationEventLogRow',
  tableName: 'integration_event_log',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    time: { type: 'datetime', ...now },
    level: { type: 'string', length: 20 },
    source: { type: 'string', length: 200 },
    eventCode: { type: 'string', length: 100 },
    message: { type: 'text' },
    connectorName: { type: 'string', length: 100, nullable: true },
    taskId: { type: 'bigint', nullable: true },
  },
});

export const IntegrationIdempotencyKeySchema = new EntitySchema<IntegrationIdempotencyKeyRow>({
  name: 'IntegrationIdempotencyKeyRow',
  tableName: 'integration_idempotency_key',
  indexes: [{ name: 'integration_idempotency_key_created_at_index', properties: ['createdAt'] }],
  properties: {
    connectorId: { type: 'integer', primary: true },
    key: { type: 'string', length: 200, primary: true },
    task: { type: 'json', columnType: 'jsonb' },
    createdAt: { type: 'datetime', ...now },
  },
});

export const IntegrationIntakeSequenceSchema = new EntitySchema<IntegrationIntakeSequenceRow>({
  name: 'IntegrationIntakeSequenceRow',
  tableName: 'integration_intake_sequence',
  properties: {
    // A real foreign key, unlike the queue tables': a connector's rows go with it, and an intake
    // writes one row, so the per-row check costs one index probe.
    connector: {
      kind: 'm:1',
      entity: () => IntegrationConnectorSchema,
      primary: true,
      deleteRule: 'cascade',
    },
    sequenceKey: { type: 'text', primary: true },
    sequence: { type: 'bigint' },
    updatedAt: { type: 'datetime', ...now },
  },
});

export const IntegrationFlowControlSchema = new EntitySchema<IntegrationFlowControlRow>({
  name: 'IntegrationFlowControlRow',
  tableName: 'integration_flow_control',
  properties: {
    connector: {
      kind: 'm:1',
      entity: () => IntegrationConnectorSchema,
      primary: true,
      deleteRule: 'cascade',
    },
    nextCallAt: { type: 'datetime', columnType: 'timestamptz', nullable: true },
    pausedUntil: { type: 'datetime', columnType: 'timestamptz', nullable: true },
    nextProbeAt: { type: 'datetime', columnType: 'timestamptz', nullable: true },
  },
});

/** Every entity schema of the bus, for the host's MikroORM `entities`. */
export const INTEGRATION_BUS_ENTITIES = [
  IntegrationConnectorSchema,
  IntegrationTaskSchema,
  IntegrationSynchronizationSchema,
  IntegrationSyncLogSchema,
  IntegrationSettingSchema,
  IntegrationEventLogSchema,
  IntegrationPartitionLeaseSchema,
  IntegrationInstanceSchema,
  IntegrationIdempotencyKeySchema,
  IntegrationIntakeSequenceSchema,
  IntegrationFlowControlSchema,
] as const;
