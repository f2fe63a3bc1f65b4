// src/account-sync.connector.ts
import { EntityManager } from '@mikro-orm/postgresql';
import { Inject } from '@nestjs/common';
import { BaseIntegrationConnector, Connector, skipNow, Subscribe, TaskType } from 'nestjs-integration-bus';
import { IntegrationProcessResult, type OutgoingTask } from 'nestjs-integration-bus';
import { AccountApi, type AccountApiReply } from './account-api.js';
import { EmailPreferenceSync } from './entities/email-preference-sync.entity.js';
import { UserSync } from './entities/user-sync.entity.js';

@Connector('AccountSyncConnector', { onThrow: IntegrationProcessResult.ErrorAndSkip })
export class AccountSyncConnector extends BaseIntegrationConnector {
  @Inject() private readonly api!: AccountApi; // property injection spares the super() call
  @Inject() private readonly em!: EntityManager;

  @Subscribe({ entity: UserSync, taskType: TaskType.CreateObject })
  async user(task: OutgoingTask<UserSync>) {
    const { acctNumber, userName, email, itemGuid } = task.object;
    const reply = await this.api.updateUser(acctNumber, { userName, email });
    return this.conclude(task, reply, () => this.em.fork().nativeDelete(UserSync, { itemGuid }));
  }

  @Subscribe({ entity: EmailPreferenceSync, taskType: TaskType.CreateObject })
  async emailPreferences(task: OutgoingTask<EmailPreferenceSync>) {
    const { acctNumber, paymentAlerts, alertAboveBalance, itemGuid } = task.object;
    const reply = await this.api.setEmailPreferences(acctNumber, { paymentAlerts, alertAboveBalance });
    return this.conclude(task, reply, () => this.em.fork().nativeDelete(EmailPreferenceSync, { itemGuid }));
  }

  // Refused: keep the row and its task (SkipNow). Synced: delete the row (nativeDelete logs no task).
  private async conclude(task: OutgoingTask, reply: AccountApiReply, deleteRow: () => Promise<unknown>) {
    if (!reply.ok) return skipNow(`${task.objectType} ${task.title} refused: ${reply.error}`);
    await deleteRow();
    return IntegrationProcessResult.OK;
  }
}
