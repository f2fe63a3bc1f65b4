import { MikroORM } from '@mikro-orm/core';
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
import { AccountApi, type AccountApiReply } from './account-api.js';
import { EmailPreferenceSync } from './entities/email-preference-sync.entity.js';
import { UserSync } from './entities/user-sync.entity.js';

/**
 * Sends new staging rows to the account service. A refusal is skipped (SkipNow: the row and its
 * task stay, for someone to fix and synchronize again) while later rows go on; an unexpected
 * failure is ErrorAndSkip. A row that made it is deleted: the tables are only a staging area.
 */
@Connector('AccountSyncConnector', { displayName: 'Account service' })
export class AccountSyncConnector extends BaseIntegrationConnector {
  constructor(
    private readonly api: AccountApi,
    private readonly orm: MikroORM,
    private readonly eventLog: IntegrationEventLog,
  ) {
    super();
  }

  override onConnectorInit(): void {
    this.subscribeToObjects(
      TaskProcessType.AsyncSimple,
      ['staging.usersync', 'staging.emailpreferencesync'],
      { taskTypes: TaskType.CreateObject },
    );
  }

  override async processInternalTaskAsync(task: OutgoingTask): Promise<ProcessOutcome> {
    try {
      const row = task.object;
      if (row instanceof UserSync) {
        const reply = await this.api.updateUser(row.acctNumber, { userName: row.userName, email: row.email });
        return await this.conclude(task, reply, () =>
          this.orm.em.fork().nativeDelete(UserSync, { itemGuid: row.itemGuid }),
        );
      }
      if (row instanceof EmailPreferenceSync) {
        const reply = await this.api.setEmailPreferences(row.acctNumber, {
          paymentAlerts: row.paymentAlerts,
          alertAboveBalance: row.alertAboveBalance,
        });
        return await this.conclude(task, reply, () =>
          this.orm.em.fork().nativeDelete(EmailPreferenceSync, { itemGuid: row.itemGuid }),
        );
      }
      return IntegrationProcessResult.OK;
    } catch (error) {
      return {
        result: IntegrationProcessResult.ErrorAndSkip,
        errorMessage: error instanceof Error ? error.message : String(error),
      };
    }
  }

  private async conclude(
    task: OutgoingTask,
    reply: AccountApiReply,
    deleteRow: () => Promise<unknown>,
  ): Promise<ProcessOutcome> {
    if (!reply.ok) {
      const errorMessage = `The account service refused ${task.objectType} ${task.title}: ${reply.error}`;
      await this.eventLog.write({
        level: 'warning',
        source: 'AccountSyncConnector',
        eventCode: 'REFUSED',
        message: errorMessage,
        connectorName: this.connectorName,
        taskId: task.id,
      });
      return { result: IntegrationProcessResult.SkipNow, errorMessage };
    }
    // nativeDelete goes around the unit of work: the bus logs no DeleteObject task for it.
    await deleteRow();
    return IntegrationProcessResult.OK;
  }
}
