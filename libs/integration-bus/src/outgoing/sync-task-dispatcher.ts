import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConnectorCallHook } from '../delivery/connector-call-hook.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { TaskDataType } from '../enums/task-data-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';
import { IntegrationEventPublisher } from '../events/integration-event-publisher.js';
import { IntegrationEvents } from '../events/integration-events.js';
import { IntegrationTaskEvent } from '../events/integration-task-event.js';
import type { IntegrationSubject } from '../metadata/integration-subject.js';
import { EventLogStore } from '../persistence/event-log.store.js';
import { SettingsService } from '../settings/settings.service.js';
import { TranslationHelper } from '../translation/translation-helper.js';
import { invokeConnector } from '../delivery/invoke-connector.js';
import type { OutgoingTask } from '../connectors/outgoing-task.interface.js';
import { TasksCommitted, type SyncDelivery } from '../delivery/tasks-committed.js';

/**
 * Synchronous processing (R-OUT-5): after the change commits, each matching connector's sync
 * handler is awaited in turn with the live entity. Nothing is stored in the queue; failures go to
 * the event log. The changes come from the `TasksCommitted` signal.
 */
@Injectable()
export class SyncTaskDispatcher {
  constructor(
    private readonly settings: SettingsService,
    private readonly events: IntegrationEventPublisher,
    private readonly eventLog: EventLogStore,
    private readonly calls: ConnectorCallHook,
    committed: TasksCommitted,
  ) {
    // Subscribed here, before any onModuleInit, so before the processors: the change's caller waits
    // for its synchronous connectors first, and the queued tasks are nudged after them.
    committed.subscribe(({ syncDeliveries }) =>
      syncDeliveries.length > 0 ? this.deliver(syncDeliveries) : undefined,
    );
  }

  async deliver(deliveries: readonly SyncDelivery[]): Promise<void> {
    if (!(await this.settings.effective()).processOutgoing) return;
    // ErrorAndSkip: that connector gets no further sync tasks from the same flush.
    const skipped = new Set<string>();
    for (const { subject, taskType, matches } of deliveries) {
      for (const match of matches) {
        const name = match.connector.codeName;
        if (skipped.has(name)) continue;
        const task = syncTask(subject, taskType);
        const info = {
          id: 0,
          guid: task.guid,
          title: task.title,
          taskType,
          objectType: subject.objectType,
          objectId: null,
          siteName: subject.siteName,
          dataType: TaskDataType.Snapshot,
          processType: match.processType,
          isInbound: false,
          connectorNames: [name],
        };
        const before = new IntegrationTaskEvent(info, subject.entity, name);
        if (!(await this.events.before(IntegrationEvents.ProcessInternalTask.Before, before))) continue;
        // Watched like the queued calls (metrics, tracing); a synchronous task is never stored.
        const watched = this.calls.start(match.connector, 'outgoing', {
          taskId: '0',
          attempts: 0,
          failures: 0,
          skips: 0,
          guid: task.guid,
          traceParent: null,
          synchronous: true,
        });
        const outcome = await ConnectorCallHook.settle(
          ConnectorCallHook.run(watched, () => invokeConnector(match.connector, match.handler, task, true)),
          watched,
        );
        await this.events.after(
          IntegrationEvents.ProcessInternalTask.After,
          new IntegrationTaskEvent(
            info,
            subject.entity,
            name,
            outcome.result,
            outcome.errorMessage ?? undefined,
          ),
        );
        if (
          outcome.result === IntegrationProcessResult.OK ||
          outcome.result === IntegrationProcessResult.SkipNow
        )
          continue;
        await this.eventLog.write({
          level: 'error',
          source: name,
          eventCode: `SYNC${outcome.result}`,
          message: `${task.title}: ${outcome.errorMessage ?? outcome.result}`,
          connectorName: name,
        });
        if (outcome.result === IntegrationProcessResult.Error) break; // no other connector gets this change
        skipped.add(name);
      }
    }
  }
}

const NEVER_ABORTED = new AbortController().signal;

function syncTask(subject: IntegrationSubject, taskType: TaskType): OutgoingTask {
  return {
    id: 0,
    sequence: 0,
    guid: randomUUID(),
    title: `${taskType} ${subject.objectType} ${subject.codeName ?? ''}`.trim(),
    taskType,
    dataType: TaskDataType.Snapshot,
    objectType: subject.objectType,
    siteName: subject.siteName,
    time: new Date(),
    object: subject.entity,
    translations: new TranslationHelper(),
    isDocument: subject.isDocument,
    attempt: 1,
    // A synchronous call runs inside the request that made the change: the caller bounds it.
    signal: NEVER_ABORTED,
    // No lease covers a synchronous call: nothing to fence.
    fence: () => undefined,
  };
}
