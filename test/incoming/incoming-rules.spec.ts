import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationProcessType,
  InvalidExternalTaskError,
  TaskDataType,
  TaskType,
  type ExternalId,
} from 'nestjs-integration-bus';
import { useManagementApp } from '../management/management-app.js';
import { NOTIFY_TOKEN } from '../management/management-app.js';
import { Page, Site, User } from '../support/entities.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

// Issue 11, items 2–9: incoming tasks matched on their whole natural key, sites applied, task types
// checked at intake, SIMPLE foreign keys kept, DeleteOnError traced, "synchronize all" retrying.

const P = IntegrationProcessType;

/** A CRM record: a person (a user), or a page when `nodeGuid` is set. */
interface CrmRecord {
  login?: string;
  mail?: string;
  /** The CRM's id of the user's site (translated through getInternalObjectParams). */
  siteId?: number;
  /** A local site id, as a connector logging SIMPLE tasks sets it. */
  localSiteId?: number;
  nodeGuid?: string;
}

/** The CRM's site ids: 701 → site "A", 702 → site "B". */
const crmSites = new Map<number, string>([
  [701, 'A'],
  [702, 'B'],
]);

@Connector('Crm')
class CrmConnector extends BaseIntegrationConnector {
  override prepareInternalObject(obj: unknown): User | Page {
    const record = obj as CrmRecord;
    if (record.nodeGuid) {
      return Object.assign(Object.create(Page.prototype) as Page, {
        nodeGuid: record.nodeGuid,
        culture: 'en-US',
        className: 'cms.news',
        aliasPath: '/news',
        title: 'News',
      });
    }
    const user = Object.create(User.prototype) as User; // no constructor: no defaults
    user.userName = record.login!;
    if (record.mail) user.email = record.mail;
    const siteId = record.siteId ?? record.localSiteId;
    if (siteId) user.site = Object.assign(new Site(), { id: siteId });
    return user;
  }

  override getInternalObjectParams(id: ExternalId) {
    const codeName = crmSites.get(Number(id));
    return codeName ? { codeName } : null;
  }
}

const { t, http } = useManagementApp({ providers: [CrmConnector] });

afterEach(async () => {
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from integration_event_log`);
  await t.sql(`delete from t_user`);
  await t.sql(`delete from t_document`);
  await t.sql(`delete from t_site`);
});

async function sites(): Promise<Record<string, number>> {
  const em = t.em();
  const a = em.create(Site, { name: 'A' });
  const b = em.create(Site, { name: 'B' });
  await em.flush(); // no connector subscribes to sites: no task is logged
  return { A: a.id, B: b.id };
}

async function users(): Promise<{ user_name: string; email: string | null; site: string | null }[]> {
  return t.sql(
    `select u.user_name, u.email, s.name as site from t_user u left join t_site s on s.id = u.site_id
      order by u.user_name, s.name nulls first`,
  );
}

async function queue(): Promise<{ process_type: string; error_message: string | null }[]> {
  return t.sql(
    `select t.process_type, s.error_message from integration_task t
       join ${ALL_SYNCHRONIZATIONS_SQL} s on s.task_id = t.id where t.is_inbound order by t.id`,
  );
}

function log(
  record: CrmRecord,
  taskType: TaskType,
  options: { dataType?: TaskDataType; processType?: IntegrationProcessType; siteName?: string } = {},
) {
  return t.bus.processExternalTask('Crm', record, {
    taskType,
    dataType: options.dataType ?? TaskDataType.SimpleSnapshot,
    processType: options.processType,
    siteName: options.siteName,
  });
}

async function twoUsersNamedP(ids: Record<string, number>): Promise<void> {
  await t.sql(
    `insert into t_user (user_name, email, site_id, created_at) values
    ('p', 'a@old', $1, now()), ('p', 'b@old', $2, now())`,
    [ids.A, ids.B],
  );
}

describe('the natural key includes the site (item 2, R-IN-2)', () => {
  it('an update and a delete for p on site B leave p of site A alone', async () => {
    const ids = await sites();
    await twoUsersNamedP(ids);
    await log({ login: 'p', mail: 'b@new', siteId: 702 }, TaskType.UpdateObject);
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ OK: 1, ERROR: 0 });
    expect(await users()).toEqual([
      { user_name: 'p', email: 'a@old', site: 'A' },
      { user_name: 'p', email: 'b@new', site: 'B' },
    ]);
    await log({ login: 'p' }, TaskType.DeleteObject, { siteName: 'B' });
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ OK: 1, ERROR: 0 });
    expect(await users()).toEqual([{ user_name: 'p', email: 'a@old', site: 'A' }]);
  });

  it('a task that names no site fails clearly when the code name is on several sites', async () => {
    const ids = await sites();
    await twoUsersNamedP(ids);
    await log({ login: 'p', mail: 'x@new' }, TaskType.UpdateObject);
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ ERROR: 1 });
    expect((await queue())[0]!.error_message).toMatch(/More than one local User .* names no site/);
    expect((await users()).map((u) => u.email)).toEqual(['a@old', 'b@old']);
  });
});

describe('AddToSite needs a site (item 3)', () => {
  it('is refused at intake without a site name: processExternalTask and the route, nothing logged', async () => {
    await expect(log({ login: 'roamer' }, TaskType.AddToSite)).rejects.toMatchObject({
      constructor: InvalidExternalTaskError,
      field: 'siteName',
    });
    const answer = await http('POST', '/connectors/Crm/incoming', {
      token: NOTIFY_TOKEN,
      body: { object: { login: 'roamer' }, taskType: 'ADDTOSITE' },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.field).toBe('siteName');
    expect(await queue()).toEqual([]);
  });

  it('a stored AddToSite task without a site fails instead of removing the object from its site', async () => {
    const ids = await sites();
    await t.sql(`insert into t_user (user_name, site_id, created_at) values ('roamer', $1, now())`, [ids.A]);
    const task = await log({ login: 'roamer' }, TaskType.AddToSite, { siteName: 'B' });
    await t.sql(`update integration_task set site_name = null where id = $1`, [task!.id]); // an older producer
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ OK: 0, ERROR: 1 });
    expect((await queue())[0]!.error_message).toMatch(/names no site/);
    expect(await users()).toEqual([{ user_name: 'roamer', email: null, site: 'A' }]);
  });
});

describe("processExternalTask's siteName is applied (item 4)", () => {
  it('creates the object on that site and moves it on update', async () => {
    await sites();
    await log({ login: 'sam' }, TaskType.CreateObject, { siteName: 'A' });
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ OK: 1 });
    expect(await users()).toEqual([{ user_name: 'sam', email: null, site: 'A' }]);
    await log({ login: 'sam', mail: 'sam@a' }, TaskType.UpdateObject, { siteName: 'A' });
    await log({ login: 'ann' }, TaskType.CreateObject, { siteName: 'Nowhere' });
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ OK: 1, ERROR: 1 });
    expect(await users()).toEqual([{ user_name: 'sam', email: 'sam@a', site: 'A' }]);
    expect((await queue())[0]!.error_message).toMatch(/No local site named "Nowhere"/);
  });
});

describe('task types that do not fit the entity are refused at intake (item 5)', () => {
  it('DELETEDOC for a user, PUBLISHDOC for an object, CREATEOBJ for a document: 400 naming taskType', async () => {
    await sites();
    await t.sql(`insert into t_user (user_name, created_at) values ('victim', now())`);
    for (const [object, taskType] of [
      [{ login: 'victim' }, TaskType.DeleteDocument],
      [{ login: 'victim' }, TaskType.PublishDocument],
      [{ nodeGuid: 'g-1' }, TaskType.CreateObject],
    ] as const) {
      await expect(log(object, taskType)).rejects.toMatchObject({ field: 'taskType' });
      const answer = await http('POST', '/connectors/Crm/incoming', {
        token: NOTIFY_TOKEN,
        body: { object, taskType },
      });
      expect({ taskType, object, status: answer.status }).toEqual({ taskType, object, status: 400 });
      expect(answer.body.field).toBe('taskType');
      expect(answer.body.message).toContain(taskType);
    }
    expect(await queue()).toEqual([]);
    expect((await users()).map((u) => u.user_name)).toEqual(['victim']);
  });
});

describe('SIMPLE keeps foreign keys as local ids (item 6)', () => {
  it('a user with a local site id is created on that site; an unknown id fails the task', async () => {
    const ids = await sites();
    await log({ login: 'local', localSiteId: ids.B }, TaskType.CreateObject, {
      dataType: TaskDataType.Simple,
    });
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ OK: 1 });
    expect(await users()).toEqual([{ user_name: 'local', email: null, site: 'B' }]);
    await log({ login: 'dangling', localSiteId: 987654 }, TaskType.CreateObject, {
      dataType: TaskDataType.Simple,
    });
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ ERROR: 1 });
    expect((await queue())[0]!.error_message).toMatch(/site: no local Site with id 987654/);
  });
});

describe('DeleteOnError leaves a trace (item 7)', () => {
  it('writes an event-log entry with the task title, the connector and the message before deleting', async () => {
    const task = await log({ login: 'doomed', siteId: 799 }, TaskType.CreateObject, {
      processType: P.DeleteOnError,
    });
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ ERRORANDSKIP: 1 });
    expect(await queue()).toEqual([]);
    const entries = await t.sql<{
      event_code: string;
      connector_name: string;
      message: string;
      task_id: string;
    }>(`select event_code, connector_name, message, task_id from integration_event_log`);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      event_code: 'DELETEONERROR',
      connector_name: 'Crm',
      task_id: String(task!.id),
    });
    expect(entries[0]!.message).toContain(task!.title);
    expect(entries[0]!.message).toMatch(/could not identify external cms\.site 799/);
  });
});

describe('"Synchronize all" on the incoming list retries a task in Error (item 8)', () => {
  it('resets Error to Default, as synchronizing the task by id does', async () => {
    await log({ login: 'late', siteId: 701 }, TaskType.CreateObject); // site A does not exist yet
    expect(await t.bus.processIncomingTasks('Crm')).toMatchObject({ ERROR: 1 });
    expect((await queue())[0]!.process_type).toBe(P.Error);
    await sites();
    const answer = await http('POST', '/tasks/synchronize', { body: { direction: 'incoming', all: true } });
    expect(answer.status).toBe(200);
    expect(answer.body.results).toMatchObject({ OK: 1, ERROR: 0 });
    expect(await users()).toEqual([{ user_name: 'late', email: null, site: 'A' }]);
  });
});

describe('Publish, Archive and Reject are checked at intake (item 9)', () => {
  it('refuses PUBLISHDOC / ARCHIVEDOC for a document without published / archived, and REJECTDOC', async () => {
    for (const taskType of [TaskType.PublishDocument, TaskType.ArchiveDocument, TaskType.RejectDocument]) {
      await expect(log({ nodeGuid: 'g-2' }, taskType)).rejects.toMatchObject({ field: 'taskType' });
      const answer = await http('POST', '/connectors/Crm/incoming', {
        token: NOTIFY_TOKEN,
        body: { object: { nodeGuid: 'g-2' }, taskType },
      });
      expect(answer.status).toBe(400);
      expect(answer.body.message).toMatch(/declare it as (published|archived)|no workflow/);
    }
    expect(await queue()).toEqual([]);
  });
});
