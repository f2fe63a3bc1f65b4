import { MikroORM, type EntityClass, type FilterQuery } from '@mikro-orm/core';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationEventLog,
  IntegrationProcessResult,
  TaskProcessType,
  TaskType,
  type OutgoingTask,
  type ProcessOutcome,
} from 'nestjs-integration-bus';
import { EmailPreferenceSync } from '../custom-tables/email-preference-sync.entity.js';
import { UserSync } from '../custom-tables/user-sync.entity.js';
import { AccountSystemClient, type AccountSystemReply } from './account-system.client.js';

const SOURCE = 'CustomTableConnector';

/**
 * The connector of reference 000: rows written to two custom tables are sent, asynchronously, to
 * the account system. What happens on failure is the point of the example: a refused row is
 * skipped (SkipNow) and stays queued, so an administrator can fix it and synchronize it again,
 * while the tasks behind it go on; an unexpected exception is logged and skipped (ErrorAndSkip).
 * A row that made it is deleted from its custom table, which is only a staging area.
 */
@Connector('CustomTableConnector', { displayName: 'Custom table connector' })
export class CustomTableConnector extends BaseIntegrationConnector {
  constructor(
    private readonly accounts: AccountSystemClient,
    private readonly eventLog: IntegrationEventLog,
    private readonly orm: MikroORM,
  ) {
    super();
  }

  override onConnectorInit(): void {
    this.subscribeToObjects(
      TaskProcessType.AsyncSnapshot,
      ['customtableitem.mynamespace.usersync', 'customtableitem.mynamespace.emailpreferencesync'],
      { taskTypes: TaskType.CreateObject },
    );
  }

  override async processInternalTaskAsync(task: OutgoingTask): Promise<ProcessOutcome> {
    try {
      const item = task.object;
      if (item instanceof EmailPreferenceSync) {
        const reply = await this.accounts.setEmailPreferences(item.acctNumber, item);
        return await this.conclude(task, reply, EmailPreferenceSync, item.itemGuid, {
          success: `E-mail preferences of account ${item.acctNumber} sent to the account system.`,
          failure: `Error syncing email preferences for account ${item.acctNumber}.`,
        });
      }
      if (item instanceof UserSync) {
        const reply = await this.accounts.updateUser(item.acctNumber, item.userName, item.email);
        return await this.conclude(task, reply, UserSync, item.itemGuid, {
          success: `User '${item.userName}' of account ${item.acctNumber} sent to the account system.`,
          failure: `Error syncing user '${item.userName}' for account ${item.acctNumber}.`,
        });
      }
      return IntegrationProcessResult.OK;
    } catch (error) {
      return {
        result: IntegrationProcessResult.ErrorAndSkip,
        errorMessage: error instanceof Error ? error.message : String(error),
      };
    } finally {
      // Optional here (nothing is translated), kept as the reference recommends it.
      this.clearInternalTranslations();
    }
  }

  private async conclude<T extends { itemGuid: string }>(
    task: OutgoingTask,
    reply: AccountSystemReply,
    entity: EntityClass<T>,
    itemGuid: string,
    messages: { success: string; failure: string },
  ): Promise<ProcessOutcome> {
    if (!reply.ok) {
      const errorMessage = `${messages.failure} Error message: ${reply.error}`;
      await this.log(task, 'warning', errorMessage);
      return { result: IntegrationProcessResult.SkipNow, errorMessage };
    }
    // nativeDelete bypasses the unit of work on purpose: clearing the staging row is housekeeping,
    // not a change to send anywhere, even if a connector subscribes to deletions of these types.
    await this.orm.em.fork().nativeDelete(entity, { itemGuid } as FilterQuery<T>);
    await this.log(task, 'info', messages.success);
    return IntegrationProcessResult.OK;
  }

  private log(task: OutgoingTask, level: 'info' | 'warning', message: string): Promise<void> {
    return this.eventLog.write({
      level,
      source: SOURCE,
      eventCode: 'CREATEOBJECT',
      message,
      connectorName: this.connectorName,
      taskId: task.id,
    });
  }
}
