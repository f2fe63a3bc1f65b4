import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseIntegrationConnector,
  Connector,
  ConnectorDisabledError,
  ConnectorNotFoundError,
  INCOMING_JOB_NAME,
  IntegrationEvents,
  IntegrationProcessResult,
  IntegrationProcessType,
  IntegrationTaskEvent,
  Subscribe,
  TaskDataType,
  TaskType,
  type ExternalId,
  type PrepareInternalObjectContext,
} from 'nestjs-integration-bus';
import { useBusApp, withBusApp } from '../support/bus-app.js';
import { Role, Site, User, UserRole } from '../support/entities.js';
import { eventually, recordingConnector, type CallLog } from '../support/recording-connector.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const P = IntegrationProcessType;

/** How the CRM describes a person: its own ids for sites and roles. */
interface CrmPerson {
  login: string | null;
  mail?: string;
  siteId?: number;
  roleIds?: number[];
}

/** The CRM's ids of the sites and roles it knows, by their code names. */
const crmSites = new Map<number, string>([
  [501, 'CorpSite'],
  [502, 'Nowhere'],
]);
const crmRoles = new Map<number, string>([
  [601, 'editors'],
  [602, 'admins'],
]);

@Connector('Crm')
@Subscribe({ objectType: 'cms.user' }) // the CRM also wants local user changes (outgoing)
class CrmConnector extends BaseIntegrationConnector {
  override processInternalTaskAsync() {
    return IntegrationProcessResult.OK;
  }

  override prepareInternalObject(obj: unknown, context: PrepareInternalObjectContext): User | null {
    const person = obj as CrmPerson;
    if (!person.login) return null; // nothing to import
    const user = new User();
    user.userName = person.login;
    user.email = person.mail ?? null;
    // Foreign keys hold the CRM's ids: getInternalObjectParams tells which local object they mean.
    if (person.siteId) user.site = Object.assign(new Site(), { id: person.siteId });
    if (context.dataType === TaskDataType.Snapshot) {
      for (const roleId of person.roleIds ?? []) {
        user.roles.add(
          Object.assign(new UserRole(), { role: Object.assign(new Role(), { id: roleId }), user }),
        );
      }
    }
    return user;
  }

  override getInternalObjectParams(id: ExternalId, objectType: string) {
    const codeName = objectType === 'cms.site' ? crmSites.get(Number(id)) : crmRoles.get(Number(id));
    return codeName ? { codeName } : null;
  }
}

const outgoing: CallLog = [];
const crmOutgoing = recordingConnector('CrmOut', [{ objectType: 'cms.user' }], outgoing);
const audit = recordingConnector('Audit', [{ objectType: 'cms.user' }], outgoing);

const cancel = { log: false, process: false };

@Injectable()
class Cancels {
  @OnEvent(IntegrationEvents.LogExternalTask.Before)
  log(event: IntegrationTaskEvent): void {
    if (cancel.log) event.cancel();
  }
  @OnEvent(IntegrationEvents.ProcessExternalTask.Before)
  process(event: IntegrationTaskEvent): void {
    if (cancel.process) event.cancel();
  }
}

const t = useBusApp({
  providers: [CrmConnector, crmOutgoing.provider, audit.provider, Cancels],
  bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
});

afterEach(async () => {
  outgoing.length = 0;
  cancel.log = false;
  cancel.process = false;
  await t.bus.updateSettings({ enabled: true, logIncoming: true, processIncoming: true });
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from t_user_role`);
  await t.sql(`delete from t_user`);
});

async function seed(): Promise<void> {
  const [existing] = await t.sql(`select id from t_site where name = 'CorpSite'`);
  if (existing) return;
  const em = t.em();
  em.create(Site, { name: 'CorpSite' });
  em.create(Role, { name: 'editors' });
  em.create(Role, { name: 'admins' });
  await em.flush();
  await t.sql(`delete from integration_task`);
}

function log(
  person: CrmPerson,
  taskType: TaskType,
  processType?: IntegrationProcessType,
  dataType = TaskDataType.SimpleSnapshot,
) {
  return t.bus.processExternalTask('Crm', person, { taskType, processType, dataType });
}

async function users(): Promise<{ user_name: string; email: string | null; site: string | null }[]> {
  return t.sql(
    `select u.user_name, u.email, s.name as site from t_user u left join t_site s on s.id = u.site_id order by u.user_name`,
  );
}

async function incomingQueue(): Promise<
  { title: string; process_type: string; error_message: string | null }[]
> {
  return t.sql(
    `select t.title, t.process_type, s.error_message from integration_task t
       join ${ALL_SYNCHRONIZATIONS_SQL} s on s.task_id = t.id where t.is_inbound order by t.id`,
  );
}

describe('logging incoming tasks (R-IN-1)', () => {
  it('stores one task with one synchronization and the translation data of its foreign keys', async () => {
    const task = await log({ login: 'eva', mail: 'eva@crm', siteId: 501 }, TaskType.CreateObject);
    expect(task).toMatchObject({
      isInbound: true,
      taskType: TaskType.CreateObject,
      objectType: 'cms.user',
      processType: P.Default,
    });
    const [row] = await t.sql<{ data: { translations: unknown[] }; syncs: number }>(
      `select data, (select count(*)::int from ${ALL_SYNCHRONIZATIONS_SQL} s where s.task_id = t.id) as syncs
         from integration_task t where id = $1`,
      [task!.id],
    );
    expect(row!.syncs).toBe(1);
    expect(row!.data.translations).toEqual([
      expect.objectContaining({ property: 'site', id: 501, codeName: 'CorpSite' }),
    ]);
  });

  it('has a defined outcome for an unknown or disabled connector, logging off, a null object, bad options', async () => {
    await expect(
      t.bus.processExternalTask('Nope', {}, { taskType: TaskType.CreateObject }),
    ).rejects.toBeInstanceOf(ConnectorNotFoundError);
    await t.bus.updateConnector('Crm', { enabled: false });
    try {
      await expect(log({ login: 'x' }, TaskType.CreateObject)).rejects.toBeInstanceOf(ConnectorDisabledError);
    } finally {
      await t.bus.updateConnector('Crm', { enabled: true });
    }
    expect(await log({ login: null }, TaskType.CreateObject)).toBeNull();
    await t.bus.updateSettings({ logIncoming: false });
    expect(await log({ login: 'y' }, TaskType.CreateObject)).toBeNull();
    await t.bus.updateSettings({ logIncoming: true });
    await expect(
      t.bus.processExternalTask('Crm', { login: 'z' }, { taskType: 'EXPLODE' as TaskType }),
    ).rejects.toThrow(/taskType/);
    await expect(
      t.bus.processExternalTask(
        'Crm',
        { login: 'z' },
        { taskType: TaskType.CreateObject, processType: 'NOW' as IntegrationProcessType },
      ),
    ).rejects.toThrow(/processType/);
    cancel.log = true;
    expect(await log({ login: 'w' }, TaskType.CreateObject)).toBeNull();
    expect(await incomingQueue()).toEqual([]);
  });
});

describe('processing incoming tasks (R-IN-2, R-IN-3)', () => {
  it('applies create, update and delete in order, translating foreign keys by code name', async () => {
    await seed();
    await log({ login: 'eva', mail: 'eva@crm', siteId: 501 }, TaskType.CreateObject);
    await log({ login: 'eva', mail: 'eva@new', siteId: 501 }, TaskType.UpdateObject);
    await log({ login: 'tom', mail: 'tom@crm' }, TaskType.CreateObject);
    await log({ login: 'tom' }, TaskType.DeleteObject);
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ OK: 4, ERROR: 0 });
    expect(await users()).toEqual([{ user_name: 'eva', email: 'eva@new', site: 'CorpSite' }]);
    expect(await incomingQueue()).toEqual([]);
  });

  it('Default: a failure turns the task into Error, logs it and stops the run; Error blocks until synchronized', async () => {
    await seed();
    await log({ login: 'lost', siteId: 502 }, TaskType.CreateObject); // site "Nowhere" does not exist here
    await log({ login: 'after' }, TaskType.CreateObject);
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ OK: 0, ERROR: 1 });
    const queue = await incomingQueue();
    expect(queue.map((q) => q.process_type)).toEqual([P.Error, P.Default]);
    expect(queue[0]!.error_message).toMatch(/site: no local cms\.site with code name "Nowhere"/);
    // Error stays in front: the next run stops there too.
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ OK: 0, ERROR: 1 });
    expect(await users()).toEqual([]);
    // Once the site exists, synchronizing by hand resets the task to Default and applies it.
    const em = t.em();
    em.create(Site, { name: 'Nowhere' });
    await em.flush();
    const [task] = await t.sql<{ id: string }>(
      `select id from integration_task where is_inbound order by id limit 1`,
    );
    expect(await t.bus.synchronizeTask(Number(task!.id))).toMatchObject({ OK: 1 });
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ OK: 1 });
    expect((await users()).map((u) => u.user_name)).toEqual(['after', 'lost']);
  });

  it('SkipOnce: set to Default and skipped this run, processed on the next', async () => {
    await log({ login: 'patient' }, TaskType.CreateObject, P.SkipOnce);
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ SKIPNOW: 1, OK: 0 });
    expect((await incomingQueue())[0]!.process_type).toBe(P.Default);
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ OK: 1 });
    expect((await users()).map((u) => u.user_name)).toEqual(['patient']);
  });

  it('SkipOnError: logged, skipped, the run goes on, the task stays', async () => {
    await log(
      { login: 'broken', siteId: 999 },
      TaskType.CreateObject,
      P.SkipOnError,
      TaskDataType.SimpleSnapshot,
    );
    await log({ login: 'fine' }, TaskType.CreateObject);
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ ERRORANDSKIP: 1, OK: 1 });
    const queue = await incomingQueue();
    expect(queue).toHaveLength(1);
    expect(queue[0]).toMatchObject({ process_type: P.SkipOnError });
    expect(queue[0]!.error_message).toMatch(/could not identify external cms\.site 999/);
  });

  it('DeleteOnError: logged, deleted, the run goes on', async () => {
    await log({ login: 'doomed', siteId: 999 }, TaskType.CreateObject, P.DeleteOnError);
    await log({ login: 'survivor' }, TaskType.CreateObject);
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ ERRORANDSKIP: 1, OK: 1 });
    expect(await incomingQueue()).toEqual([]);
    expect((await users()).map((u) => u.user_name)).toEqual(['survivor']);
  });

  it('SkipOnError and DeleteOnError tasks that succeed are applied and deleted like Default ones', async () => {
    await log({ login: 'careful' }, TaskType.CreateObject, P.SkipOnError);
    await log({ login: 'bold' }, TaskType.CreateObject, P.DeleteOnError);
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ OK: 2, ERROR: 0, ERRORANDSKIP: 0 });
    expect(await incomingQueue()).toEqual([]);
    expect((await users()).map((u) => u.user_name)).toEqual(['bold', 'careful']);
  });

  it('processes nothing while incoming processing is off; Before can cancel a task for this run', async () => {
    await log({ login: 'held' }, TaskType.CreateObject);
    await t.bus.updateSettings({ processIncoming: false });
    expect(await t.bus.processIncomingTasks()).toMatchObject({ OK: 0 });
    await t.bus.updateSettings({ processIncoming: true });
    cancel.process = true;
    expect(await t.bus.processIncomingTasks()).toMatchObject({ SKIPNOW: 1 });
    cancel.process = false;
    expect(await t.bus.processIncomingTasks()).toMatchObject({ OK: 1 });
  });

  it('applies Snapshot children, translating their own keys', async () => {
    await seed();
    await log(
      { login: 'multi', siteId: 501, roleIds: [601, 602] },
      TaskType.CreateObject,
      P.Default,
      TaskDataType.Snapshot,
    );
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ OK: 1 });
    const roles = await t.sql<{ name: string }>(
      `select r.name from t_user_role ur join t_role r on r.id = ur.role_id join t_user u on u.id = ur.user_id
        where u.user_name = 'multi' order by r.name`,
    );
    expect(roles.map((r) => r.name)).toEqual(['admins', 'editors']);
    // An update replaces the children.
    await log(
      { login: 'multi', siteId: 501, roleIds: [601] },
      TaskType.UpdateObject,
      P.Default,
      TaskDataType.Snapshot,
    );
    await t.bus.processIncomingTasks('Crm');
    const after = await t.sql(
      `select ur.id from t_user_role ur join t_user u on u.id = ur.user_id where u.user_name = 'multi'`,
    );
    expect(after).toHaveLength(1);
  });

  it('adds an object to a site and removes it', async () => {
    await seed();
    await log({ login: 'roamer' }, TaskType.CreateObject);
    await t.bus.processExternalTask(
      'Crm',
      { login: 'roamer' },
      { taskType: TaskType.AddToSite, siteName: 'CorpSite' },
    );
    await t.bus.processIncomingTasks('Crm');
    expect((await users())[0]).toMatchObject({ user_name: 'roamer', site: 'CorpSite' });
    await t.bus.processExternalTask('Crm', { login: 'roamer' }, { taskType: TaskType.RemoveFromSite });
    await t.bus.processIncomingTasks('Crm');
    expect((await users())[0]).toMatchObject({ user_name: 'roamer', site: null });
  });
});

describe('no echo loops (R-IN-4)', () => {
  it('does not log a change applied from a connector back to it; other connectors get it', async () => {
    await log({ login: 'echo', mail: 'echo@crm' }, TaskType.CreateObject);
    await t.bus.processIncomingTasks('Crm');
    const queued = await t.sql<{ code_name: string }>(
      `select c.code_name from integration_task t join ${ALL_SYNCHRONIZATIONS_SQL} s on s.task_id = t.id
         join integration_connector c on c.id = s.connector_id where not t.is_inbound order by c.code_name`,
    );
    expect(queued.map((q) => q.code_name)).toEqual(['Audit', 'CrmOut']); // not Crm, where it came from
    // The same kind of change made locally does go to Crm.
    await t.sql(`delete from integration_task`);
    const em = t.em();
    em.create(User, { userName: 'local' });
    await em.flush();
    const local = await t.sql<{ code_name: string }>(
      `select c.code_name from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_connector c on c.id = s.connector_id
        order by c.code_name`,
    );
    expect(local.map((q) => q.code_name)).toEqual(['Audit', 'Crm', 'CrmOut']);
  });
});

describe('the scheduled job (R-IN-5)', () => {
  it('processes incoming tasks on the cron given in the options, registered in SchedulerRegistry', async () => {
    await withBusApp(
      {
        providers: [CrmConnector],
        imports: [ScheduleModule.forRoot()],
        bus: { incoming: { enabled: true, cron: '* * * * * *' } },
      },
      async (app) => {
        expect(app.app.get(SchedulerRegistry).getCronJob(INCOMING_JOB_NAME)).toBeDefined();
        await app.bus.processExternalTask('Crm', { login: 'cron' }, { taskType: TaskType.CreateObject });
        await eventually(async () => {
          expect(await app.sql(`select user_name from t_user`)).toEqual([{ user_name: 'cron' }]);
        }, 4000);
      },
    );
  });
});
