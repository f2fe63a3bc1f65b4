import { MikroORM, type EntityClass, type FilterQuery } from '@mikro-orm/core';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationEventLog,
  IntegrationProcessResult,
  Subscribe,
  TaskProcessType,
  TaskType,
  TranslationHelper,
  type ExternalColumns,
  type ExternalObjectQuery,
  type OutgoingTask,
  type ProcessOutcome,
  type TranslationRecord,
} from 'nestjs-integration-bus';
import { Role } from '../cms/role.entity.js';
import { Site } from '../cms/site.entity.js';
import type { User } from '../cms/user.entity.js';
import { FakeErp } from '../erp/fake-erp.js';
import type { Poll } from '../polls/poll.entity.js';
import { EVENT_CODES } from './event-codes.js';

const SOURCE = 'ErpConnector';

/** Task types the ERP applies as "create or update by code name". */
const UPSERTS = new Set<TaskType>([TaskType.CreateObject, TaskType.UpdateObject]);

/**
 * Master data the ERP is told about the first time a task refers to it, rather than through tasks
 * of its own: the entity to check it still exists in, and the property holding its code name.
 */
const PUSHED_WHEN_FIRST_SEEN: Record<string, { entity: EntityClass<object>; codeName: string }> = {
  'cms.site': { entity: Site, codeName: 'name' },
  'cms.role': { entity: Role, codeName: 'name' },
};

/**
 * Sends polls (with their answers) and users (with their site and roles) to an ERP whose ids differ
 * from the CMS's: the demonstration of foreign-key translation (reference 001, "Translating foreign
 * key values to match the external ones"). Each task is a Snapshot, handled in the reference's
 * recommended order: translate the object's own foreign keys, save it in the ERP, translate again
 * with the children (whose keys now include the new ERP id of their parent), save the children.
 *
 * `getExternalObjectId` finds ERP ids by object type and code name. Sites and roles are pushed to
 * the ERP the first time a task refers to them, instead of being synchronized as tasks of their
 * own or set up in the ERP beforehand: the ERP needs only their code names, which the translation
 * record carries, registering one is idempotent (a known code name keeps its id), and so a person
 * trying the demo sees a user's site and roles arrive with the user. A site or role is pushed only
 * if it still exists in the CMS: a task logged before it was deleted must not bring it back to
 * life in the ERP, and fails with a clear message instead.
 *
 * Limits: the ERP knows records by code name only, so a renamed user, site or role becomes a new
 * ERP record (the old one stays); and the ERP is in memory, empty after each restart.
 */
@Connector('ErpConnector', { displayName: 'ERP' })
export class ErpConnector extends BaseIntegrationConnector {
  constructor(
    private readonly erp: FakeErp,
    private readonly eventLog: IntegrationEventLog,
    private readonly orm: MikroORM,
  ) {
    super();
  }

  /** A poll with its answers: the answers point at the ERP id of the poll. */
  @Subscribe({ objectType: 'polls.poll', processType: TaskProcessType.AsyncSnapshot })
  syncPoll(task: OutgoingTask<Poll>): Promise<ProcessOutcome> {
    return this.handle(task, async () => {
      const poll = task.object;
      if (task.taskType === TaskType.DeleteObject) {
        const deletedId = this.erp.deletePoll(poll.codeName);
        return deletedId === null
          ? `Poll '${poll.codeName}' (${poll.id}) deleted; the ERP did not have it.`
          : `Poll '${poll.codeName}' ${poll.id} → ${deletedId} deleted from the ERP with its answers.`;
      }
      if (!UPSERTS.has(task.taskType)) return null;

      // 1. The poll's own keys (its site); the answers wait: the poll has no ERP id yet.
      const main = await this.translateColumnsToExternal(poll, task.translations, false);
      this.requireTranslated(main, task.translations, `Poll '${poll.codeName}'`);
      // 2. The poll itself, which gives it an ERP id.
      const pollId = this.erp.savePoll({
        codeName: poll.codeName,
        question: poll.question,
        siteId: erpId(main.site),
      });
      // 3. Again with the children: each answer's `poll` now translates to that ERP id.
      const full = await this.translateColumnsToExternal(poll, task.translations, true);
      const answers = poll.answers.getItems();
      const answerColumns = full.answers as ExternalColumns[];
      answers.forEach((answer, i) => {
        this.requireTranslated(
          answerColumns[i]!,
          TranslationHelper.for(answer),
          `Answer '${answer.codeName}' of poll '${poll.codeName}'`,
        );
      });
      // 4. The answers, pointing at the ERP poll.
      const saved = this.erp.setPollAnswers(
        pollId,
        answerColumns.map((columns) => ({
          pollId: erpId(columns.poll)!,
          codeName: String(columns.codeName),
          text: String(columns.text),
        })),
      );
      const answerIds = answers.map((answer, i) => `'${answer.codeName}' ${answer.id} → ${saved[i]!.id}`);
      return (
        `Poll '${poll.codeName}' ${poll.id} → ${pollId}, ${describeKey(task.translations, 'site', main)}; ` +
        `answers ${answerIds.join(', ') || '(none)'}, each with poll ${poll.id} → ${pollId}.`
      );
    });
  }

  /** A user with its site and its roles: the bindings point at the ERP ids of user and role. */
  @Subscribe({ objectType: 'cms.user', processType: TaskProcessType.AsyncSnapshot })
  syncUser(task: OutgoingTask<User>): Promise<ProcessOutcome> {
    return this.handle(task, async () => {
      const user = task.object;
      if (task.taskType === TaskType.DeleteObject) {
        const deletedId = this.erp.deleteUser(user.userName);
        return deletedId === null
          ? `User '${user.userName}' (${user.id}) deleted; the ERP did not have it.`
          : `User '${user.userName}' ${user.id} → ${deletedId} deleted from the ERP with its roles.`;
      }
      if (!UPSERTS.has(task.taskType)) return null;

      const main = await this.translateColumnsToExternal(user, task.translations, false);
      this.requireTranslated(main, task.translations, `User '${user.userName}'`);
      const userId = this.erp.saveUser({
        userName: user.userName,
        email: user.email ?? null,
        firstName: user.firstName ?? null,
        lastName: user.lastName ?? null,
        siteId: erpId(main.site),
      });
      const full = await this.translateColumnsToExternal(user, task.translations, true);
      const bindings = user.roles.getItems();
      const bindingColumns = full.roles as ExternalColumns[];
      bindings.forEach((binding, i) => {
        this.requireTranslated(
          bindingColumns[i]!,
          TranslationHelper.for(binding),
          `Role binding ${binding.id} of user '${user.userName}'`,
        );
      });
      this.erp.setUserRoles(
        userId,
        bindingColumns.map((columns) => ({ userId: erpId(columns.user)!, roleId: erpId(columns.role)! })),
      );
      const roles = bindings.map((binding, i) =>
        describeTarget(TranslationHelper.for(binding).forProperty('role'), bindingColumns[i]!),
      );
      return (
        `User '${user.userName}' ${user.id} → ${userId}, ${describeKey(task.translations, 'site', main)}; ` +
        `roles ${roles.join(', ') || '(none)'}.`
      );
    });
  }

  /**
   * The ERP id of a referenced object, by object type and code name. Sites and roles the ERP does
   * not know yet are pushed to it, if they still exist here (see the class comment).
   */
  override async getExternalObjectId(query: ExternalObjectQuery): Promise<number | null> {
    const { objectType, codeName } = query;
    if (codeName === null) return null;
    switch (objectType) {
      case 'polls.poll':
        return this.erp.pollId(codeName);
      case 'cms.user':
        return this.erp.userId(codeName);
      case 'cms.site':
        return (
          this.erp.siteId(codeName) ?? ((await this.existsHere(query)) ? this.erp.addSite(codeName) : null)
        );
      case 'cms.role':
        return (
          this.erp.roleId(codeName) ?? ((await this.existsHere(query)) ? this.erp.addRole(codeName) : null)
        );
      default:
        return null;
    }
  }

  /** Runs a task's work and writes its outcome to the event log; `null` from the work: nothing to do. */
  private async handle(task: OutgoingTask, work: () => Promise<string | null>): Promise<ProcessOutcome> {
    const eventCode = EVENT_CODES[task.taskType] ?? task.taskType;
    let message: string | null;
    try {
      message = await work();
    } catch (error) {
      // An untranslatable key, or a write the ERP refused: Error, so the connector's queue stops
      // here and the ERP never gets a user's or a poll's changes out of order.
      const errorMessage = error instanceof Error ? error.message : String(error);
      await this.log(task, 'error', eventCode, errorMessage);
      return { result: IntegrationProcessResult.Error, errorMessage };
    }
    await this.log(task, 'info', eventCode, message ?? `${task.title}: nothing for the ERP to do.`);
    return IntegrationProcessResult.OK;
  }

  /** Throws a message naming each foreign key of `columns` that found no ERP id, and why. */
  private requireTranslated(columns: ExternalColumns, translations: TranslationHelper, what: string): void {
    const missing = translations.records.filter((record) => erpId(columns[record.property]) === null);
    if (missing.length === 0) return;
    const reasons = missing.map(
      (record) =>
        `${record.property} → ${record.objectType} '${record.codeName}' (local id ${record.id}) has no ERP id: ` +
        (record.objectType in PUSHED_WHEN_FIRST_SEEN
          ? `the ERP does not know it, and it was not pushed because no ${record.objectType} '${record.codeName}' ` +
            'exists here any more (deleted or renamed after the task was logged)'
          : `the ERP has no ${record.objectType} '${record.codeName}'`),
    );
    throw new Error(`${what} cannot be sent to the ERP: ${reasons.join('; ')}.`);
  }

  private async existsHere(query: ExternalObjectQuery): Promise<boolean> {
    const { entity, codeName } = PUSHED_WHEN_FIRST_SEEN[query.objectType]!;
    const where = { [codeName]: query.codeName } as FilterQuery<object>;
    return (await this.orm.em.fork().count(entity, where)) > 0;
  }

  private log(
    task: OutgoingTask,
    level: 'info' | 'error',
    eventCode: string,
    message: string,
  ): Promise<void> {
    return this.eventLog.write({
      level,
      source: SOURCE,
      eventCode,
      message,
      connectorName: this.connectorName,
      taskId: task.id,
    });
  }
}

/** An ERP id from translated columns: a number, or `null` for an empty foreign key. */
function erpId(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number') throw new Error(`Expected an ERP id, got ${JSON.stringify(value)}.`);
  return value;
}

/** `site 'main' 1 → 1000` for a foreign key, `no site` for an empty one. */
function describeKey(translations: TranslationHelper, property: string, columns: ExternalColumns): string {
  const record = translations.forProperty(property);
  return record ? `${property} ${describeTarget(record, columns)}` : `no ${property}`;
}

/** `'main' 1 → 1000`: what a foreign key points at, by code name, local id → ERP id. */
function describeTarget(record: TranslationRecord | undefined, columns: ExternalColumns): string {
  if (!record) return '(none)';
  return `'${record.codeName}' ${record.id} → ${String(columns[record.property])}`;
}
