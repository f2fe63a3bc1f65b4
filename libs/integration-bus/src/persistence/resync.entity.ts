import { EntitySchema } from '@mikro-orm/core';
import { IntegrationConnectorSchema, type IntegrationConnectorRow } from './integration-bus.entities.js';

/** A row of `integration_resync`: one resync of an object type for a connector (R-RES-1). */
export interface IntegrationResyncRow {
  id: string;
  connector: IntegrationConnectorRow;
  objectType: string;
  /** The `where` filter it was started with, as given. */
  filter?: unknown;
  chunkSize: number;
  /** `running`, `done`, `cancelled` or `failed`. */
  status: string;
  /** The primary key of the last row done, as a JSON array; null before the first chunk. */
  position?: unknown;
  done: string;
  total: string;
  chunks: number;
  /** Rows per second over the recent chunks. */
  rate?: number | null;
  errorMessage?: string | null;
  leaseOwner?: string | null;
  leaseUntil?: Date | null;
  epoch: string;
  startedAt: Date;
  updatedAt: Date;
  finishedAt?: Date | null;
}

const now = { defaultRaw: 'now()', columnType: 'timestamptz' } as const;

/** The schema of `integration_resync` (Migration20261207300000Resync). */
export const IntegrationResyncSchema = new EntitySchema<IntegrationResyncRow>({
  name: 'IntegrationResyncRow',
  tableName: 'integration_resync',
  indexes: [
    {
      name: 'integration_resync_running_index',
      expression: `create unique index "integration_resync_running_index" on "integration_resync"
        ("connector_id", "object_type") where "status" = 'running'`,
    },
  ],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    connector: { kind: 'm:1', entity: () => IntegrationConnectorSchema, deleteRule: 'cascade' },
    objectType: { type: 'string', length: 200 },
    filter: { type: 'json', columnType: 'jsonb', nullable: true },
    chunkSize: { type: 'integer' },
    status: { type: 'string', length: 20 },
    position: { type: 'json', columnType: 'jsonb', nullable: true },
    done: { type: 'bigint', defaultRaw: '0' },
    total: { type: 'bigint', defaultRaw: '0' },
    chunks: { type: 'integer', default: 0 },
    rate: { type: 'double', nullable: true },
    errorMessage: { type: 'text', nullable: true },
    leaseOwner: { type: 'string', length: 100, nullable: true },
    leaseUntil: { type: 'datetime', columnType: 'timestamptz', nullable: true },
    epoch: { type: 'bigint', defaultRaw: '0' },
    startedAt: { type: 'datetime', ...now },
    updatedAt: { type: 'datetime', ...now },
    finishedAt: { type: 'datetime', columnType: 'timestamptz', nullable: true },
  },
});
