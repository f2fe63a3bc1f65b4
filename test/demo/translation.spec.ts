import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IntegrationBus, IntegrationProcessResult } from 'nestjs-integration-bus';
import { FakeErp, type ErpContent, type ErpMasterRecord } from '../../apps/demo/src/erp/fake-erp.js';
import { call, count, entriesOf, startDemo, type RunningDemo } from './demo-harness.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const ERP = 'ErpConnector';

async function processErp(demo: RunningDemo) {
  return demo.app.get(IntegrationBus).processOutgoingTasks(ERP);
}

async function erpContent(demo: RunningDemo): Promise<ErpContent> {
  const { status, json } = await call(demo, 'GET', '/api/erp');
  expect(status).toBe(200);
  return json as unknown as ErpContent;
}

function byCodeName(records: ErpMasterRecord[], codeName: string): ErpMasterRecord {
  const record = records.find((r) => r.codeName === codeName);
  if (!record) throw new Error(`The ERP has no record '${codeName}': ${JSON.stringify(records)}`);
  return record;
}

/** An answer of a poll to create. */
function answer(codeName: string): { codeName: string; text: string } {
  return { codeName, text: codeName.toUpperCase() };
}

/** The body of a new poll with the given `answers`. */
function newPoll(answers: unknown): Record<string, unknown> {
  return { codeName: 'colour', question: 'Which colour?', answers };
}

/** Synchronizations still queued for ErpConnector. */
function queuedForErp(demo: RunningDemo): Promise<number> {
  return count(
    demo,
    `select 1 from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_connector c on c.id = s.connector_id
      where c.code_name = $1`,
    [ERP],
  );
}

describe('ErpConnector: foreign keys translated to the ERP ids', () => {
  let demo: RunningDemo;
  let local: { siteId: number; userId: number; roleIds: number[]; pollId: number; answerIds: number[] };
  beforeAll(async () => {
    demo = await startDemo({ autoSync: false });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('sends a user with its site and roles, and a poll with its answers, under ERP ids', async () => {
    const site = await call(demo, 'POST', '/api/sites', { name: 'main', displayName: 'Main site' });
    expect(site.status).toBe(201);
    const roles = [
      await call(demo, 'POST', '/api/roles', { name: 'editors', displayName: 'Editors' }),
      await call(demo, 'POST', '/api/roles', { name: 'admins' }),
    ];
    expect(roles.map((r) => [r.status, r.json.name, r.json.displayName])).toEqual([
      [201, 'editors', 'Editors'],
      [201, 'admins', 'admins'],
    ]);
    const user = await call(demo, 'POST', '/api/users', { userName: 'anna', siteName: 'main' });
    expect(user.status).toBe(201);
    expect(user.json.roles).toEqual([]);
    for (const role of roles) {
      const given = await call(demo, 'POST', `/api/users/${user.json.id as number}/roles`, {
        roleId: role.json.id,
      });
      expect(given.status).toBe(201);
    }
    expect((await call(demo, 'GET', '/api/users')).json).toEqual([
      expect.objectContaining({ userName: 'anna', siteName: 'main', roles: ['editors', 'admins'] }),
    ]);
    const poll = await call(demo, 'POST', '/api/polls', {
      codeName: 'lunch',
      question: 'Where shall we eat?',
      siteName: 'main',
      answers: [
        { codeName: 'pizza', text: 'Pizza' },
        { codeName: 'sushi', text: 'Sushi' },
      ],
    });
    expect(poll.status).toBe(201);
    const answers = poll.json.answers as { id: number; codeName: string }[];
    expect(answers.map((a) => a.codeName)).toEqual(['pizza', 'sushi']);
    local = {
      siteId: site.json.id as number,
      userId: user.json.id as number,
      roleIds: roles.map((r) => r.json.id as number),
      pollId: poll.json.id as number,
      answerIds: answers.map((a) => a.id),
    };

    // The user's creation, two role changes (logged as updates of the user), the poll.
    const counts = await processErp(demo);
    expect(counts).toMatchObject({ [IntegrationProcessResult.OK]: 4, [IntegrationProcessResult.Error]: 0 });
    expect(await queuedForErp(demo)).toBe(0);

    const erp = await erpContent(demo);
    const erpSite = byCodeName(erp.sites, 'main');
    const [erpEditors, erpAdmins] = [byCodeName(erp.roles, 'editors'), byCodeName(erp.roles, 'admins')];
    expect(erp.sites).toEqual([erpSite]);
    expect(erp.users).toEqual([
      {
        id: expect.any(Number),
        userName: 'anna',
        email: null,
        firstName: null,
        lastName: null,
        siteId: erpSite.id,
      },
    ]);
    const erpUser = erp.users[0]!;
    expect(erp.userRoles).toEqual([
      { userId: erpUser.id, roleId: erpEditors.id },
      { userId: erpUser.id, roleId: erpAdmins.id },
    ]);
    expect(erp.polls).toEqual([
      { id: expect.any(Number), codeName: 'lunch', question: 'Where shall we eat?', siteId: erpSite.id },
    ]);
    const erpPoll = erp.polls[0]!;
    expect(erp.pollAnswers).toEqual([
      { id: expect.any(Number), pollId: erpPoll.id, codeName: 'pizza', text: 'Pizza' },
      { id: expect.any(Number), pollId: erpPoll.id, codeName: 'sushi', text: 'Sushi' },
    ]);
    // Every id the ERP holds is its own, none a CMS id that slipped through untranslated.
    const erpIds = [erpSite, erpEditors, erpAdmins, erpUser, erpPoll, ...erp.pollAnswers].map((r) => r.id);
    expect(erpIds.every((id) => id >= FakeErp.FIRST_ID)).toBe(true);
    expect(erpPoll.id).not.toBe(local.pollId);
    expect(erpSite.id).not.toBe(local.siteId);

    // One event-log entry per task, showing local id → ERP id.
    const [a1, a2] = erp.pollAnswers;
    const site1 = `site 'main' ${local.siteId} → ${erpSite.id}`;
    const userIds = `User 'anna' ${local.userId} → ${erpUser.id}, ${site1}`;
    const editors = `'editors' ${local.roleIds[0]} → ${erpEditors.id}`;
    const admins = `'admins' ${local.roleIds[1]} → ${erpAdmins.id}`;
    const entries = await entriesOf(demo, ERP);
    expect(entries.map((e) => [e.level, e.eventCode, e.message])).toEqual([
      ['info', 'CREATEOBJECT', `${userIds}; roles (none).`],
      ['info', 'UPDATEOBJECT', `${userIds}; roles ${editors}.`],
      ['info', 'UPDATEOBJECT', `${userIds}; roles ${editors}, ${admins}.`],
      [
        'info',
        'CREATEOBJECT',
        `Poll 'lunch' ${local.pollId} → ${erpPoll.id}, ${site1}; answers 'pizza' ${local.answerIds[0]} → ${a1!.id}, ` +
          `'sushi' ${local.answerIds[1]} → ${a2!.id}, each with poll ${local.pollId} → ${erpPoll.id}.`,
      ],
    ]);
    expect(entries.every((e) => e.connectorName === ERP && e.taskId !== null)).toBe(true);
  });

  it('keeps the ERP ids when a poll changes, and follows role changes and deletions', async () => {
    const before = await erpContent(demo);

    const updated = await call(demo, 'PATCH', `/api/polls/${local.pollId}`, { question: 'Where now?' });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ question: 'Where now?', siteName: 'main' });
    const taken = await call(demo, 'DELETE', `/api/users/${local.userId}/roles/${local.roleIds[0]}`);
    expect(taken.status).toBe(204);
    expect(await processErp(demo)).toMatchObject({ [IntegrationProcessResult.OK]: 2 });

    const after = await erpContent(demo);
    expect(after.polls).toEqual([{ ...before.polls[0], question: 'Where now?' }]);
    expect(after.pollAnswers).toEqual(before.pollAnswers);
    expect(after.userRoles).toEqual([before.userRoles[1]]);

    expect((await call(demo, 'DELETE', `/api/polls/${local.pollId}`)).status).toBe(204);
    expect((await call(demo, 'DELETE', `/api/users/${local.userId}`)).status).toBe(204);
    expect(await count(demo, 'select 1 from polls_pollanswer')).toBe(0);
    expect(await count(demo, 'select 1 from cms_userrole')).toBe(0);
    expect(await processErp(demo)).toMatchObject({ [IntegrationProcessResult.OK]: 2 });

    const emptied = await erpContent(demo);
    expect([emptied.polls, emptied.pollAnswers, emptied.users, emptied.userRoles]).toEqual([[], [], [], []]);
    // Master data stays: the ERP was told about it, not asked to forget it.
    expect(emptied.sites).toEqual(before.sites);
    expect(emptied.roles).toEqual(before.roles);
    const messages = (await entriesOf(demo, ERP)).map((e) => e.message).slice(-2);
    expect(messages).toEqual([
      `Poll 'lunch' ${local.pollId} → ${before.polls[0]!.id} deleted from the ERP with its answers.`,
      `User 'anna' ${local.userId} → ${before.users[0]!.id} deleted from the ERP with its roles.`,
    ]);
  });

  it('rejects bad poll and role input with 400 naming the field, and writes nothing', async () => {
    const user = await call(demo, 'POST', '/api/users', { userName: 'bruno' });
    const role = await call(demo, 'POST', '/api/roles', { name: 'viewers' });
    const tasksBefore = await count(demo, 'select 1 from integration_task');
    const pollsBefore = await count(demo, 'select 1 from polls_poll');

    const cases: [path: string, body: unknown, field: string][] = [
      ['/api/polls', newPoll([answer('red')]), 'answers'],
      ['/api/polls', newPoll('red, blue'), 'answers'],
      ['/api/polls', newPoll([answer('red'), { codeName: 'blue' }]), 'answers[1].text'],
      ['/api/polls', newPoll([answer('red'), answer('red')]), 'answers[1].codeName'],
      ['/api/polls', newPoll([answer('red'), { ...answer('blue'), votes: 3 }]), 'answers[1].votes'],
      ['/api/polls', newPoll([answer('red'), 'blue']), 'answers[1]'],
      ['/api/polls', { ...newPoll([answer('red'), answer('blue')]), siteName: 'nowhere' }, 'siteName'],
      ['/api/polls', { question: 'Which?', answers: [answer('a'), answer('b')] }, 'codeName'],
      ['/api/roles', { name: 'bad name' }, 'name'],
      [`/api/users/${user.json.id as number}/roles`, { roleId: 9999 }, 'roleId'],
      [`/api/users/${user.json.id as number}/roles`, { roleId: String(role.json.id) }, 'roleId'],
      [`/api/users/${user.json.id as number}/roles`, {}, 'roleId'],
    ];
    for (const [path, body, field] of cases) {
      const refused = await call(demo, 'POST', path, body);
      // The request goes into the compared value, so that a failure says which case it was.
      const request = `${path} ${JSON.stringify(body)}`;
      expect([request, refused.status, refused.json.field]).toEqual([request, 400, field]);
      expect((refused.json.message as string).startsWith(`${field} `)).toBe(true);
    }
    const badRoleId = await call(demo, 'DELETE', `/api/users/${user.json.id as number}/roles/abc`);
    expect([badRoleId.status, badRoleId.json.field]).toEqual([400, 'roleId']);

    expect(await count(demo, 'select 1 from polls_poll')).toBe(pollsBefore);
    expect(await count(demo, 'select 1 from polls_pollanswer')).toBe(0);
    expect(await count(demo, `select 1 from cms_role where name = 'bad name'`)).toBe(0);
    expect(await count(demo, 'select 1 from cms_userrole')).toBe(0);
    expect(await count(demo, 'select 1 from integration_task')).toBe(tasksBefore);
  });

  it('answers 409 to a role given twice or the deletion of a role still held, and logs nothing more', async () => {
    const user = await call(demo, 'POST', '/api/users', { userName: 'carla' });
    const role = await call(demo, 'POST', '/api/roles', { name: 'authors' });
    const path = `/api/users/${user.json.id as number}/roles`;
    expect((await call(demo, 'POST', path, { roleId: role.json.id })).status).toBe(201);
    const tasksBefore = await count(demo, 'select 1 from integration_task');

    expect((await call(demo, 'POST', path, { roleId: role.json.id })).status).toBe(409);
    expect((await call(demo, 'DELETE', `/api/roles/${role.json.id as number}`)).status).toBe(409);
    expect((await call(demo, 'DELETE', `${path}/${role.json.id as number}999`)).status).toBe(404);

    expect(await count(demo, 'select 1 from integration_task')).toBe(tasksBefore);
    expect(await count(demo, `select 1 from cms_role where name = 'authors'`)).toBe(1);
  });
});

describe('ErpConnector: a reference deleted before the task is processed', () => {
  let demo: RunningDemo;
  beforeAll(async () => {
    demo = await startDemo({ autoSync: false });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('fails the task with a clear message in the sync log, and goes on once the task is dealt with', async () => {
    const site = await call(demo, 'POST', '/api/sites', { name: 'branch' });
    const siteId = site.json.id as number;
    const user = await call(demo, 'POST', '/api/users', { userName: 'dan', siteName: 'branch' });
    // The foreign key does not let a site go while a user is on it…
    expect((await call(demo, 'DELETE', `/api/sites/${siteId}`)).status).toBe(409);
    // …but the user may leave it first, and then it can go: the user's first task, still queued,
    // names a site that no longer exists. Its translation record, taken when the task was logged,
    // still says which one ('branch'), and the connector refuses to bring it back in the ERP.
    const moved = await call(demo, 'PATCH', `/api/users/${user.json.id as number}`, { siteName: null });
    expect(moved.json.siteName).toBeNull();
    expect((await call(demo, 'DELETE', `/api/sites/${siteId}`)).status).toBe(204);

    const counts = await processErp(demo);
    expect(counts).toMatchObject({ [IntegrationProcessResult.OK]: 0, [IntegrationProcessResult.Error]: 1 });
    const expected =
      `User 'dan' cannot be sent to the ERP: site → cms.site 'branch' (local id ${siteId}) has no ERP id: ` +
      "the ERP does not know it, and it was not pushed because no cms.site 'branch' exists here any more " +
      '(deleted or renamed after the task was logged).';
    const log = await demo.pool.query<{ title: string; error_message: string }>(
      `select t.title, l.error_message from integration_sync_log l
         join ${ALL_SYNCHRONIZATIONS_SQL} s on s.id = l.synchronization_id
         join integration_task t on t.id = s.task_id
         join integration_connector c on c.id = s.connector_id
        where c.code_name = $1`,
      [ERP],
    );
    expect(log.rows).toEqual([{ title: "Create User 'dan'", error_message: expected }]);
    expect((await entriesOf(demo, ERP)).map((e) => [e.level, e.message])).toEqual([['error', expected]]);
    // Error stops the connector's run: the user's later update (and the RemoveFromSite that leaving
    // the site also logs) wait behind the failed task.
    expect(await queuedForErp(demo)).toBe(3);
    const erp = await erpContent(demo);
    expect([erp.sites, erp.users]).toEqual([[], []]);

    // Someone who knows the site is gone for good deletes the stale task; the update goes through.
    const { rows } = await demo.pool.query<{ task_id: string }>(
      `select s.task_id from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_connector c on c.id = s.connector_id
        where c.code_name = $1 and s.error_message is not null`,
      [ERP],
    );
    await demo.app.get(IntegrationBus).deleteTask(Number(rows[0]!.task_id), ERP);
    expect(await processErp(demo)).toMatchObject({ [IntegrationProcessResult.OK]: 2 });
    expect((await erpContent(demo)).users).toEqual([
      expect.objectContaining({ userName: 'dan', siteId: null }),
    ]);
  });
});
