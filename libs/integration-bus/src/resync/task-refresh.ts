import { Injectable } from '@nestjs/common';
import { LockMode, MikroORM, type EntityMetadata } from '@mikro-orm/core';
import { ConnectorRegistry, type ConnectorMatch } from '../connectors/connector-registry.js';
import { TaskDataType } from '../enums/task-data-type.enum.js';
import type { TaskProcessType } from '../enums/task-process-type.enum.js';
import { TaskType } from '../enums/task-type.enum.js';
import { ConnectorDisabledError } from '../errors/connector-disabled.error.js';
import { TaskNotFoundError } from '../errors/task-not-found.error.js';
import { TaskRefreshError } from '../errors/task-refresh.error.js';
import { getIntegrationDescriptor } from '../metadata/integration-subject.js';
import { BusDatabase } from '../persistence/bus-database.js';
import { ChangeLogger, type AfterCommitWork } from '../outgoing/change-logger.js';
import { EntityRowReader } from '../translation/entity-row-reader.js';
import { keyEquals, type RowKey } from './resync-target.js';
import { TaskRefreshStore } from './task-refresh.store.js';

const DELETES = new Set<string>([TaskType.DeleteObject, TaskType.DeleteDocument, TaskType.DeleteAllCultures]);
const REFRESHABLE = new Set<string>([TaskDataType.SimpleSnapshot, TaskDataType.Snapshot]);

/**
 * Requeue with fresh data (R-RES-3): a skipped, failed, retrying or parked task of a SimpleSnapshot
 * or Snapshot type, whose stored snapshot is stale (the row was fixed since), goes back to its
 * connector with the object's current state.
 *
 * The stale task is not rewritten in place: its synchronization is taken off the queue and a new
 * task, same task type, process type and handler, is logged for that connector alone, from the row
 * read `FOR SHARE`, in one transaction. The new task is thus ordered with the object's live changes
 * exactly as a resync task is (see resync-chunk.ts, R-RES-2): a change committed before the read is
 * in it, one committed after gets a higher id. Rewriting the old task's data in place would not be:
 * it would carry today's state ahead of the object's later tasks still queued with older
 * snapshots, and the connector would see the object go back. Other connectors waiting for the same
 * task keep theirs as it is.
 */
@Injectable()
export class TaskRefresh {
  constructor(
    private readonly orm: MikroORM,
    private readonly db: BusDatabase,
    private readonly registry: ConnectorRegistry,
    private readonly changes: ChangeLogger,
    private readonly store: TaskRefreshStore,
  ) {}

  /**
   * Replaces a task's stated synchronizations (one connector's, or every one) with new tasks
   * carrying the object's current state.
   * @returns how many, and for which connectors
   * @throws TaskNotFoundError; TaskRefreshError when the task cannot be refreshed (incoming, Simple,
   *   a delete, a plain object, or its object is gone); ConnectorDisabledError when a connector it
   *   would go to is disabled or not loaded here
   */
  async requeue(taskId: number, connectorId?: number): Promise<{ count: number; connectorIds: number[] }> {
    const task = await this.store.task(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    if (task.isInbound) throw new TaskRefreshError(taskId, 'applies to outgoing tasks only');
    if (!REFRESHABLE.has(task.dataType)) {
      throw new TaskRefreshError(
        taskId,
        `needs a SimpleSnapshot or Snapshot task; task ${taskId} is ${task.dataType}: requeue it without refresh`,
      );
    }
    if (DELETES.has(task.taskType)) {
      throw new TaskRefreshError(taskId, `does not apply to a delete (task ${taskId} is ${task.taskType})`);
    }
    const meta = this.entityOf(task.data.entity);
    if (!meta) {
      throw new TaskRefreshError(
        taskId,
        `needs a task logged for an entity; task ${taskId} carries a plain object`,
      );
    }
    const key = meta.primaryKeys.map((name) => task.data.fields[name]) as RowKey;
    const stated = await this.store.stated(taskId, connectorId);
    const enabled = new Map(
      (await this.registry.enabledConnectors()).map((e) => [e.connectorId, e.connector]),
    );
    const connectorIds: number[] = [];
    for (const sync of stated) {
      const connector = enabled.get(sync.connectorId);
      if (!connector) throw new ConnectorDisabledError(`#${sync.connectorId}`);
      const match: ConnectorMatch = {
        connector,
        connectorId: sync.connectorId,
        processType: task.processType as TaskProcessType,
        handler: sync.handler,
      };
      let afterCommit: AfterCommitWork | undefined;
      await this.db.transaction(async (trx) => {
        const [entity] = await this.orm.em.fork().find(meta.class, keyEquals(meta, key), {
          ctx: trx as never,
          lockMode: LockMode.PESSIMISTIC_READ,
          lockTableAliases: [this.orm.config.getNamingStrategy().aliasName(meta.className, 0)],
        });
        if (!entity) {
          throw new TaskRefreshError(
            taskId,
            `found no current state: the ${meta.className} of task ${taskId} no longer exists; delete the task instead`,
          );
        }
        if (!(await this.store.unqueue(trx, taskId, sync.connectorId))) return;
        const descriptor = getIntegrationDescriptor(meta.class)!;
        const subject = await this.changes.describe(meta, entity, descriptor, new EntityRowReader(trx));
        const change = { subject, taskType: task.taskType as TaskType, meta, matches: [match] };
        afterCommit = (await this.changes.log([change], trx)).afterCommit;
      });
      if (!afterCommit) continue;
      await afterCommit();
      connectorIds.push(sync.connectorId);
    }
    return { count: connectorIds.length, connectorIds };
  }

  /** The metadata of the integration entity a payload names. */
  private entityOf(className: string | null): EntityMetadata<object> | undefined {
    if (!className) return undefined;
    for (const meta of this.orm.getMetadata().getAll().values()) {
      if (meta.className === className && getIntegrationDescriptor(meta.class)) return meta;
    }
    return undefined;
  }
}
