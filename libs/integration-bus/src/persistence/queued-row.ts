import type { TaskDataType } from '../enums/task-data-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';
import type { RowDecoder } from './bus-database.js';

/**
 * The state of a synchronization after an attempt that did not succeed (R-DEL-7). `failed`: Error,
 * holds the connector's later tasks until it is retried; `retrying`: ErrorAndSkip, a failure that does
 * not hold anything up; `skipped`: SkipNow, not a failure; `parked`: failed `retry.maxAttempts`
 * times (or skipped `retry.skipNow.maxAttempts` times), never retried automatically, holds nothing up. A waiting synchronization has no state.
 */
export type SynchronizationState = 'failed' | 'retrying' | 'skipped' | 'parked';

/** A queued synchronization joined with its task, as a processor reads it. */
export interface QueuedSynchronization {
  /** Its row's id; for a task queued for one connector and not yet attempted, the task id negated (see `SYNCHRONIZATIONS`). */
  syncId: string;
  attempts: number;
  /** Failed attempts so far, towards `retry.maxAttempts`. */
  failures: number;
  /** SkipNow answers so far, towards `retry.skipNow.maxAttempts`. */
  skips: number;
  /** The last attempt's outcome; null while waiting. */
  state: SynchronizationState | null;
  /** 0 for one FIFO per connector, else the partition of the object (R-ORD-2). */
  partition: number;
  /** The object's hash with `ordering: 'object'`: what an Error holds back (R-ORD-1). */
  objectHash: string | null;
  handler: string | null;
  taskId: string;
  guid: string;
  title: string;
  taskType: TaskType;
  objectType: string;
  objectId: string | null;
  /** The document node, for documents. */
  nodeId: string | null;
  siteName: string | null;
  dataType: TaskDataType;
  processType: string;
  isInbound: boolean;
  /**
   * The payload as stored, not parsed: a connector that never reads the task's object or
   * translations never pays for parsing it (see `parseTaskPayload`).
   */
  dataJson: string;
  /** When the task was logged, in milliseconds since the epoch. */
  createdAtMs: number;
  /** W3C `traceparent` of the task's `create` span, or null (R-ECO-4). */
  traceParent: string | null;
  /**
   * The reading statement's snapshot as `xmin:xmax` (outgoing reads only): what `DrainFloor` needs to
   * know how far back tasks may still appear.
   */
  snapshot?: string;
}

/** The columns of a queued synchronization, in the order `QueuedRow` reads them. */
const COLUMNS = [
  'syncId',
  'attempts',
  'failures',
  'skips',
  'state',
  'partition',
  'objectHash',
  'handler',
  'taskId',
  'guid',
  'title',
  'taskType',
  'objectType',
  'objectId',
  'nodeId',
  'siteName',
  'dataType',
  'processType',
  'isInbound',
  'dataJson',
  'traceParent',
  'createdAtMs',
  'snapshot',
] as const satisfies readonly (keyof QueuedSynchronization)[];

/** Beyond this many distinct values, `shared` stops remembering new ones (a bound, never reached by enums). */
const SHARED_LIMIT = 1_000;
const sharedValues = new Map<string, string>();

/**
 * One string for all rows that carry the same value of a column with few values (types, states,
 * handler names): the driver makes a fresh copy per row, and a batch kept them all alive.
 */
function shared(value: string | null): string | null {
  if (value === null) return null;
  const known = sharedValues.get(value);
  if (known !== undefined) return known;
  if (sharedValues.size < SHARED_LIMIT) sharedValues.set(value, value);
  return value;
}

/**
 * A queued synchronization as the drain reads it, built straight from the row's text fields. The
 * driver's own row object (a copy of a 23-property template, one type parser call per column) was
 * a sixth of the drain's allocations and the largest part of what each scavenge found alive: a
 * batch is held from its read to its write, and what survives scavenges is what makes V8 grow the
 * young generation (measured: 834 bytes kept per row before). One shape for every
 * row; columns with few values share their strings; the statement's snapshot is kept on the first
 * row only, the one `DrainFloor` reads.
 */
class QueuedRow implements QueuedSynchronization {
  syncId: string;
  attempts: number;
  failures: number;
  skips: number;
  state: SynchronizationState | null;
  partition: number;
  objectHash: string | null;
  handler: string | null;
  taskId: string;
  guid: string;
  title: string;
  taskType: TaskType;
  objectType: string;
  objectId: string | null;
  nodeId: string | null;
  siteName: string | null;
  dataType: TaskDataType;
  processType: string;
  isInbound: boolean;
  dataJson: string;
  traceParent: string | null;
  createdAtMs: number;
  snapshot?: string;

  constructor(f: readonly (string | null)[], at: readonly number[], first: boolean) {
    this.syncId = f[at[0]!]!;
    this.attempts = Number(f[at[1]!]);
    this.failures = Number(f[at[2]!]);
    this.skips = Number(f[at[3]!]);
    this.state = shared(f[at[4]!]!) as SynchronizationState | null;
    this.partition = Number(f[at[5]!]);
    this.objectHash = f[at[6]!]!;
    this.handler = shared(f[at[7]!]!);
    this.taskId = f[at[8]!]!;
    this.guid = f[at[9]!]!;
    this.title = f[at[10]!]!;
    this.taskType = shared(f[at[11]!]!) as TaskType;
    this.objectType = shared(f[at[12]!]!)!;
    this.objectId = f[at[13]!]!;
    this.nodeId = f[at[14]!]!;
    this.siteName = shared(f[at[15]!]!);
    this.dataType = shared(f[at[16]!]!) as TaskDataType;
    this.processType = shared(f[at[17]!]!)!;
    this.isInbound = f[at[18]!] === 't';
    this.dataJson = f[at[19]!]!;
    this.traceParent = f[at[20]!]!;
    this.createdAtMs = Number(f[at[21]!]);
    // Absent (not undefined) on later rows would give them another shape: undefined keeps one.
    this.snapshot = first ? (f[at[22]!] ?? undefined) : undefined;
  }
}

/**
 * The decoder of the drain's reads (`QueueStore.fetchOutgoing`, `completeAndFetch`): finds each
 * column by name once per result, then builds a `QueuedRow` per row.
 * @throws Error when the statement lacks a column of `QueuedSynchronization`
 */
export const decodeQueuedRows: RowDecoder<QueuedSynchronization> = (columns) => {
  const at = COLUMNS.map((name) => {
    const index = columns.indexOf(name);
    if (index < 0 && name !== 'snapshot') throw new Error(`The queue's read lacks the column ${name}.`);
    return index;
  });
  let first = true;
  return (fields) => {
    const row = new QueuedRow(fields, at, first);
    first = false;
    return row;
  };
};
