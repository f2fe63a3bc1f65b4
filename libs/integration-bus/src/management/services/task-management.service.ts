import { Injectable } from '@nestjs/common';
import { ConnectorRegistry } from '../../connectors/connector-registry.js';
import { IntegrationProcessResult } from '../../enums/integration-process-result.enum.js';
import { ConnectorBusyError } from '../../errors/connector-busy.error.js';
import { ConnectorDisabledError } from '../../errors/connector-disabled.error.js';
import { ConnectorNotFoundError } from '../../errors/connector-not-found.error.js';
import { ProcessingDisabledError } from '../../errors/processing-disabled.error.js';
import { TaskNotFoundError } from '../../errors/task-not-found.error.js';
import { BUS_EVENT_SOURCE, BusEventCodes } from '../../events/bus-event-codes.js';
import { EventLogStore } from '../../persistence/event-log.store.js';
import { IntegrationBus } from '../../integration-bus.service.js';
import { addCounts, emptyCounts, type ResultCounts } from '../../delivery/invoke-connector.js';
import {
  TaskQueryStore,
  type SynchronizationFilter,
  type SynchronizationKey,
  type SynchronizationStatus,
  type TaskRow,
} from '../../persistence/task-query.store.js';
import { holdScope } from '../../persistence/queue-rules.js';
import { TaskAdminStore } from '../../persistence/task-admin.store.js';
import type { TranslationRecord } from '../../persistence/translation-record.js';

/** Which queue a list or a bulk action is about. */
export type TaskDirection = 'outgoing' | 'incoming';

/** One row of a task list: a task waiting for one connector. */
export interface TaskListItem {
  taskId: number;
  title: string;
  taskType: string;
  objectType: string;
  objectId: string | null;
  siteName: string | null;
  dataType: string;
  processType: string;
  createdAt: Date;
  connectorName: string;
  connectorDisplayName: string;
  attempts: number;
  lastRun: Date | null;
  /** The last attempt's message: why it failed, or why the connector put it off (SkipNow). */
  errorMessage: string | null;
  /** One status, as in `TaskSynchronization.status` (R-DEL-7). */
  status: SynchronizationStatus;
  /** When the task is tried again automatically (failed, retrying, skipped); null otherwise. */
  nextAttemptAt: Date | null;
  /** The failed task this one is waiting behind, if any ("waiting behind task N"). */
  blockedBy: number | null;
}

/** A page of a list and the cursor of the next one (`null` on the last page). */
export interface Page<T> {
  items: T[];
  nextCursor: SynchronizationKey | null;
}

/** A task's synchronization with one connector, and the history of its failed attempts. */
export interface TaskSynchronization {
  connectorName: string;
  connectorDisplayName: string;
  attempts: number;
  lastRun: Date | null;
  errorMessage: string | null;
  /**
   * `waiting`, `failed` (Error: holds the connector's later tasks until `nextAttemptAt`),
   * `retrying` (ErrorAndSkip: tried again at `nextAttemptAt`, holds nothing up), `skipped`
   * (SkipNow: not a failure), `parked` (failed `retry.maxAttempts` times; requeue it).
   */
  status: SynchronizationStatus;
  nextAttemptAt: Date | null;
  /** The failed task this one is waiting behind, if any. */
  blockedBy: number | null;
  /** The newest attempts that left a message first. */
  log: { time: Date; errorMessage: string }[];
}

/** Everything the detail view of a task shows. */
export interface TaskDetail {
  id: number;
  guid: string;
  direction: TaskDirection;
  title: string;
  taskType: string;
  objectType: string;
  objectId: string | null;
  nodeId: string | null;
  documentId: string | null;
  aliasPath: string | null;
  siteName: string | null;
  dataType: string;
  processType: string;
  createdAt: Date;
  /** MikroORM entity the object is rebuilt as, when known. */
  entity: string | null;
  /** The object's fields as carried by the task. */
  data: Record<string, unknown>;
  /** Translation records of the object's foreign keys (SimpleSnapshot and Snapshot). */
  relatedData: TranslationRecord[];
  /** Snapshot mode: child objects by collection, each with its own fields and related data. */
  children: Record<string, { data: Record<string, unknown>; relatedData: TranslationRecord[] }[]>;
  synchronizations: TaskSynchronization[];
}

/** Outcome of a bulk synchronization. */
export interface BulkSynchronizationResult {
  /** How many synchronizations ended with each result. */
  results: ResultCounts;
  /** Selected synchronizations already gone when their turn came (processed or deleted meanwhile). */
  notQueued: number;
  /**
   * Selected synchronizations left untouched: after an Error of the same connector (its later
   * tasks must not overtake the failed one), or of a connector disabled, not loaded, or being
   * processed by another instance.
   */
  skipped: number;
}

/** Outcome of a bulk requeue. */
export interface BulkRequeueResult {
  /** Synchronizations made waiting again. */
  requeued: number;
}

/** Outcome of a bulk deletion. */
export interface BulkDeletionResult {
  /** Synchronizations removed. */
  deleted: number;
  /** Tasks removed because no connector waited for them any more. */
  tasksDeleted: number;
}

/** Which tasks a bulk action covers: the listed ids, or every task of the list. */
export interface BulkSelection {
  direction: TaskDirection;
  connectorName?: string;
  ids?: number[];
  all?: true;
  /** With `all`: only the tasks with this status (e.g. requeue every parked task). */
  status?: SynchronizationStatus;
}

/** Task rows read per round trip by bulk actions over a whole list. */
const BULK_PAGE = 500;

/**
 * The management API over queued tasks: lists, detail, and the single and bulk actions of SPEC §8,
 * built on `IntegrationBus` for processing and deletion and on `TaskQueryStore` for reads.
 */
@Injectable()
export class TaskManagementService {
  constructor(
    private readonly bus: IntegrationBus,
    private readonly registry: ConnectorRegistry,
    private readonly query: TaskQueryStore,
    private readonly tasks: TaskAdminStore,
    private readonly eventLog: EventLogStore,
  ) {}

  /** A page of a queue, oldest task first, optionally one connector's. */
  async list(options: {
    direction: TaskDirection;
    connectorName?: string;
    status?: SynchronizationStatus;
    /** Text the task's title or object type contains, ignoring case. */
    search?: string;
    after?: SynchronizationKey;
    limit: number;
  }): Promise<Page<TaskListItem>> {
    const filter = await this.filterOf(options.direction, options.connectorName);
    filter.status = options.status;
    filter.search = options.search;
    const rows = await this.query.list(filter, options.after, options.limit + 1);
    const items = rows.slice(0, options.limit);
    const last = items.at(-1);
    return {
      items: items.map(({ connectorId: _connectorId, ...row }) => row),
      nextCursor:
        rows.length > options.limit && last ? { taskId: last.taskId, connectorId: last.connectorId } : null,
    };
  }

  /** A task's data, related data and per-connector status with sync logs. */
  async detail(taskId: number): Promise<TaskDetail> {
    const task = await this.query.task(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    const synchronizations = await this.query.synchronizations(taskId);
    const payload = payloadOf(task);
    return {
      id: task.id,
      guid: task.guid,
      direction: task.isInbound ? 'incoming' : 'outgoing',
      title: task.title,
      taskType: task.taskType,
      objectType: task.objectType,
      objectId: task.objectId,
      nodeId: task.nodeId,
      documentId: task.documentId,
      aliasPath: task.aliasPath,
      siteName: task.siteName,
      dataType: task.dataType,
      processType: task.processType,
      createdAt: task.createdAt,
      entity: payload.entity,
      data: payload.data,
      relatedData: payload.relatedData,
      children: payload.children,
      synchronizations: synchronizations.map((s) => ({
        connectorName: s.connectorName,
        connectorDisplayName: s.connectorDisplayName,
        attempts: s.attempts,
        lastRun: s.lastRun,
        errorMessage: s.errorMessage,
        status: s.status,
        nextAttemptAt: s.nextAttemptAt,
        blockedBy: s.blockedBy,
        log: s.log,
      })),
    };
  }

  /** Processes one task now, for one connector or every connector it waits for. */
  async synchronize(taskId: number, connectorName?: string): Promise<ResultCounts> {
    if (connectorName) await this.assertCanProcess(connectorName);
    return this.bus.synchronizeTask(taskId, connectorName);
  }

  /**
   * Makes one task waiting again, for one connector or for all (R-DEL-6); with `refresh`, with the
   * object's current state (R-RES-3).
   * @returns synchronizations requeued
   */
  requeue(taskId: number, connectorName?: string, refresh?: boolean): Promise<number> {
    return this.bus.requeueTask(taskId, connectorName, { refresh });
  }

  /**
   * Makes the selected tasks, or every task of a list (optionally of one status, e.g. `parked`),
   * waiting again, and wakes their connectors on every instance.
   */
  async requeueMany(selection: BulkSelection): Promise<BulkRequeueResult> {
    const filter = await this.filterOf(
      selection.direction,
      selection.connectorName,
      selection.all ? undefined : (selection.ids ?? []),
    );
    filter.status = selection.status;
    const { count, connectorIds } = await this.tasks.requeue(filter);
    await this.bus.wake(connectorIds);
    await this.eventLog.write({
      level: 'info',
      source: BUS_EVENT_SOURCE,
      eventCode: BusEventCodes.BulkRequeue,
      message: `Requeued ${describeSelection(selection)}${selection.status ? ` (${selection.status})` : ''}: ${count} synchronization(s).`,
      connectorName: selection.connectorName ?? null,
    });
    return { requeued: count };
  }

  /**
   * Deletes one task for one connector or for all, without processing it.
   * @returns synchronizations removed
   */
  async delete(taskId: number, connectorName?: string): Promise<number> {
    if (connectorName) await this.connectorId(connectorName);
    const removed = await this.bus.deleteTask(taskId, connectorName);
    if (removed === 0) throw new TaskNotFoundError(taskId, connectorName);
    return removed;
  }

  /**
   * Synchronizes the selected tasks, or all tasks of a list, in creation order (SPEC §8).
   *
   * Selected ids are processed one (task, connector) pair at a time, oldest first, as
   * `synchronizeTask` does (an incoming task in the Error state is reset to Default first, R-IN-3).
   * After an Error the connector's later selected tasks are skipped, as a processing run stops
   * there (R-OUT-6, R-IN-3), so a newer change never overtakes a failed older one. A whole list is
   * exactly a processing run of each connector concerned, so it goes through
   * `processOutgoingTasks` / `processIncomingTasks`, batch by batch.
   */
  async synchronizeMany(selection: BulkSelection): Promise<BulkSynchronizationResult> {
    const outcome = await this.runSynchronizeMany(selection);
    const counts = Object.entries(outcome.results)
      .filter(([, n]) => n > 0)
      .map(([result, n]) => `${result}: ${n}`);
    await this.eventLog.write({
      level: 'info',
      source: BUS_EVENT_SOURCE,
      eventCode: BusEventCodes.BulkSynchronize,
      message:
        `Synchronized ${describeSelection(selection)}: ${counts.length ? counts.join(', ') : 'nothing processed'}` +
        `; ${outcome.notQueued} no longer queued, ${outcome.skipped} skipped.`,
      connectorName: selection.connectorName ?? null,
    });
    return outcome;
  }

  private async runSynchronizeMany(selection: BulkSelection): Promise<BulkSynchronizationResult> {
    const settings = await this.bus.getSettings();
    const incoming = selection.direction === 'incoming';
    if (!settings.enabled || !(incoming ? settings.processIncoming : settings.processOutgoing)) {
      const name = incoming ? 'processIncoming' : 'processOutgoing';
      throw new ProcessingDisabledError(
        `Processing of ${selection.direction} tasks is switched off (settings enabled / ${name}).`,
      );
    }
    const filter = await this.filterOf(selection.direction, selection.connectorName, selection.ids);
    const outcome: BulkSynchronizationResult = { results: emptyCounts(), notQueued: 0, skipped: 0 };
    if (selection.all) {
      if (selection.connectorName) await this.assertCanProcess(selection.connectorName);
      const names = selection.connectorName
        ? [selection.connectorName]
        : (await this.bus.getConnectors()).filter((c) => c.loaded && c.enabled).map((c) => c.codeName);
      const runs = await Promise.all(
        names.map(async (name) => {
          if (!incoming) {
            // By hand, the retry policy's waits do not apply (R-DEL-5): what waits for a retry is due now.
            await this.tasks.makeDue(await this.connectorId(name));
            return this.bus.processOutgoingTasks(name);
          }
          // As for one task or the selected ones: synchronizing by hand retries a task in Error (R-IN-3).
          await this.query.resetIncomingErrors({
            isInbound: true,
            connectorId: await this.connectorId(name),
          });
          return this.bus.processIncomingTasks(name);
        }),
      );
      for (const counts of runs) addCounts(outcome.results, counts);
      return outcome;
    }
    // What stops: a connector that cannot run, and what an Error holds back (R-OUT-6, R-ORD-1):
    // the connector's later tasks, or with `ordering: 'object'` the object's only (`holdScope`).
    const stopped = new Set<string>();
    const isStopped = (pair: { connectorId: number; objectHash: string | null }) =>
      stopped.has(holdScope(pair.connectorId, null)) ||
      stopped.has(holdScope(pair.connectorId, pair.objectHash));
    let after: SynchronizationKey | undefined;
    for (;;) {
      const pairs = await this.query.pairs(filter, after, BULK_PAGE);
      for (const pair of pairs) {
        if (isStopped(pair)) {
          outcome.skipped += 1;
          continue;
        }
        try {
          const counts = await this.bus.synchronizeTask(pair.taskId, pair.connectorName);
          addCounts(outcome.results, counts);
          if (counts[IntegrationProcessResult.Error] > 0)
            stopped.add(holdScope(pair.connectorId, pair.objectHash));
        } catch (error) {
          if (error instanceof ProcessingDisabledError) throw error;
          if (error instanceof TaskNotFoundError && (await this.canProcess(pair.connectorName))) {
            outcome.notQueued += 1;
          } else if (error instanceof TaskNotFoundError || error instanceof ConnectorNotFoundError) {
            stopped.add(holdScope(pair.connectorId, null));
            outcome.skipped += 1;
          } else if (error instanceof ConnectorBusyError) {
            stopped.add(holdScope(pair.connectorId, null));
            outcome.skipped += 1;
          } else {
            throw error;
          }
        }
      }
      if (pairs.length < BULK_PAGE) return outcome;
      after = pairs.at(-1);
    }
  }

  /**
   * Deletes the selected tasks, or all tasks of a list, without processing them: a transaction per
   * 500 tasks, so a list of a million never holds its locks for long.
   */
  async deleteMany(selection: BulkSelection): Promise<BulkDeletionResult> {
    const result = await this.runDeleteMany(selection);
    await this.eventLog.write({
      level: 'warning',
      source: BUS_EVENT_SOURCE,
      eventCode: BusEventCodes.BulkDelete,
      message:
        `Deleted ${describeSelection(selection)} without processing: ${result.deleted} synchronization(s), ` +
        `${result.tasksDeleted} task(s).`,
      connectorName: selection.connectorName ?? null,
    });
    return result;
  }

  private async runDeleteMany(selection: BulkSelection): Promise<BulkDeletionResult> {
    const filter = await this.filterOf(selection.direction, selection.connectorName);
    const result: BulkDeletionResult = { deleted: 0, tasksDeleted: 0 };
    const add = (r: { synchronizations: number; tasks: number }) => {
      result.deleted += r.synchronizations;
      result.tasksDeleted += r.tasks;
    };
    if (!selection.all) {
      const ids = [...(selection.ids ?? [])].sort((a, b) => a - b);
      for (let i = 0; i < ids.length; i += BULK_PAGE) {
        add(await this.query.deleteSelected({ ...filter, taskIds: ids.slice(i, i + BULK_PAGE) }));
      }
      return result;
    }
    let afterTaskId = 0;
    for (;;) {
      const ids = await this.query.taskIds(filter, afterTaskId, BULK_PAGE);
      if (ids.length === 0) return result;
      add(await this.query.deleteSelected({ ...filter, taskIds: ids }));
      afterTaskId = ids.at(-1)!;
    }
  }

  private async filterOf(
    direction: TaskDirection,
    connectorName?: string,
    taskIds?: number[],
  ): Promise<SynchronizationFilter> {
    return {
      isInbound: direction === 'incoming',
      connectorId: connectorName === undefined ? undefined : await this.connectorId(connectorName),
      taskIds,
    };
  }

  /** The row id of a connector, loaded or not; a `ConnectorNotFoundError` when it has no row. */
  private async connectorId(codeName: string): Promise<number> {
    const status = (await this.bus.getConnectors()).find((c) => c.codeName === codeName);
    if (!status) throw new ConnectorNotFoundError(codeName);
    return status.id;
  }

  private async canProcess(codeName: string): Promise<boolean> {
    const status = (await this.bus.getConnectors()).find((c) => c.codeName === codeName);
    return Boolean(status?.loaded && status.enabled);
  }

  /** A 404 for a connector without row or provider, a 409 for a disabled one. */
  private async assertCanProcess(codeName: string): Promise<void> {
    await this.connectorId(codeName);
    this.registry.get(codeName);
    if (!(await this.canProcess(codeName))) {
      throw new ConnectorDisabledError(codeName);
    }
  }
}

/** `all incoming tasks of Crm`, `outgoing tasks 3, 4 (every connector)`: for the event log. */
function describeSelection(selection: BulkSelection): string {
  const ids = selection.ids ?? [];
  const which = selection.all
    ? `all ${selection.direction} tasks`
    : `${selection.direction} tasks ${ids.slice(0, 20).join(', ')}${ids.length > 20 ? ` … (${ids.length})` : ''}`;
  return `${which} ${selection.connectorName ? `of ${selection.connectorName}` : '(every connector)'}`;
}

/** What the detail view shows of `integration_task.data`, whatever its shape. */
function payloadOf(task: TaskRow): {
  entity: string | null;
  data: Record<string, unknown>;
  relatedData: TranslationRecord[];
  children: TaskDetail['children'];
} {
  const data = isRecord(task.data) ? task.data : {};
  const fields = isRecord(data.fields) ? data.fields : data;
  const children: TaskDetail['children'] = {};
  if (isRecord(data.children)) {
    for (const [name, list] of Object.entries(data.children)) {
      if (!Array.isArray(list)) continue;
      children[name] = list.filter(isRecord).map((child) => ({
        data: isRecord(child.fields) ? child.fields : child,
        relatedData: Array.isArray(child.translations) ? (child.translations as TranslationRecord[]) : [],
      }));
    }
  }
  return {
    entity: typeof data.entity === 'string' ? data.entity : null,
    data: fields,
    relatedData: Array.isArray(data.translations) ? (data.translations as TranslationRecord[]) : [],
    children,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
