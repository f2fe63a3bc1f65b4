import {
  BaseIntegrationConnector,
  Connector,
  IntegrationEventLog,
  IntegrationProcessResult,
  TaskProcessType,
  type OutgoingTask,
  type ProcessOutcome,
} from 'nestjs-integration-bus';
import { Document } from '../cms/document.entity.js';
import { User } from '../cms/user.entity.js';
import { EVENT_CODES, VERBS } from './event-codes.js';

/**
 * The sample connector of the original product (reference 001, §2.3): it subscribes to every user
 * and every document, and does nothing but write an event-log entry for each creation,
 * modification or deletion it receives.
 */
@Connector('SampleIntegrationConnector', { displayName: 'Sample Integration Connector' })
export class SampleIntegrationConnector extends BaseIntegrationConnector {
  constructor(private readonly eventLog: IntegrationEventLog) {
    super();
  }

  override onConnectorInit(): void {
    // Users travel with their related data and children (Snapshot), documents with the
    // translation data of their foreign keys (SimpleSnapshot), as in the original sample.
    this.subscribeToObjects(TaskProcessType.AsyncSnapshot, 'cms.user');
    this.subscribeToAllDocuments(TaskProcessType.AsyncSimpleSnapshot);
  }

  override async processInternalTaskAsync(task: OutgoingTask): Promise<ProcessOutcome> {
    const eventCode = EVENT_CODES[task.taskType];
    if (eventCode) {
      await this.eventLog.write({
        level: 'info',
        source: 'SampleIntegrationConnector',
        eventCode,
        message: describe(task),
        connectorName: this.connectorName,
        taskId: task.id,
      });
    }
    return IntegrationProcessResult.OK;
  }
}

function describe(task: OutgoingTask): string {
  const verb = VERBS[task.taskType] ?? task.taskType;
  const site = task.siteName ? ` on site ${task.siteName}` : '';
  if (task.object instanceof User) return `User '${task.object.userName}' ${verb}${site}.`;
  if (task.object instanceof Document) {
    const { title, aliasPath, culture } = task.object;
    return `Document '${title}' (${aliasPath}, ${culture}) ${verb}${site}.`;
  }
  return `${task.title} (${task.objectType}) ${verb}${site}.`;
}
