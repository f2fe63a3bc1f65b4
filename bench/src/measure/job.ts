import type { ExternalSubject } from './external.js';

/** One measurement, run in a child process of its own on a fresh database. */
export type MeasureJob =
  | {
      kind: 'flush';
      withBus: boolean;
      entities: number;
      flushes: number;
      warmup: number;
      /** What each flush does to `entities` rows: insert new ones (default) or update existing ones. */
      change?: 'insert' | 'update';
    }
  | { kind: 'bus-drain'; tasks: number; connectors: number; batchSize?: number; readObject?: boolean }
  | { kind: 'graphile'; jobs: number; mode: GraphileMode; timeLimitMs?: number }
  | { kind: 'pg-boss'; jobs: number; batchSize: number }
  | { kind: 'raw'; tasks: number; table: 'bus' | 'single' }
  | { kind: 'latency'; ratePerSecond: number; seconds: number; warmupSeconds: number; lanes: number }
  | {
      kind: 'scale-out';
      tasks: number;
      objects: number;
      instances: number;
      callMs: number;
      partitions: number;
      concurrency: number;
    }
  | {
      kind: 'live-ordering';
      ordering: 'connector' | 'object';
      objects: number;
      instances: number;
      producers: number;
      /** Concurrent transaction loops of each producer. */
      lanes: number;
      durationMs: number;
    }
  | {
      kind: 'relay-drain';
      tasks: number;
      broker: 'nats' | 'rabbitmq';
      window: number;
      /** The bare-client reference: as many messages published by the broker's own client, no bus. */
      bare?: boolean;
    }
  | { kind: 'consumer-drain'; messages: number; broker: 'nats' | 'rabbitmq' }
  | { kind: 'external'; subject: ExternalSubject; objects: number; versions: number; timeLimitMs?: number }
  | { kind: 'resync'; rows: number; chunkSize: number };

/** graphile-worker configurations compared. */
export type GraphileMode = 'defaults' | 'batched' | 'fifo';

/** What a child sends back: named numbers, plus a few facts worth keeping in the JSON. */
export interface MeasureResult {
  values: Record<string, number>;
  notes?: Record<string, unknown>;
}

/** What the parent sends a child. */
export interface ChildRequest {
  databaseUrl: string;
  job: MeasureJob;
}

/** CPU milliseconds per 1,000 items processed, of the subject's process and of PostgreSQL. */
export function cpuPer1000(
  nodeMs: number,
  postgresMs: number | null,
  items: number,
): { nodeCpuMsPer1000: number; postgresCpuMsPer1000: number } {
  return {
    nodeCpuMsPer1000: (nodeMs / items) * 1000,
    postgresCpuMsPer1000: postgresMs === null ? Number.NaN : (postgresMs / items) * 1000,
  };
}
