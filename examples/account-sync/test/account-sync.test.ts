import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { MikroORM, type EntityClass } from '@mikro-orm/core';
import { Test } from '@nestjs/testing';
import { IntegrationProcessResult, TaskType } from 'nestjs-integration-bus';
import {
  advanceRetryClock,
  createTestDatabase,
  drainQueue,
  manualProcessing,
  recordingConnector,
  runOutgoingTask,
  type TestDatabase,
} from 'nestjs-integration-bus/testing';
import { AccountApi } from '../src/account-api.js';
import { AppModule } from '../src/app.module.js';
import { EmailPreferenceSync } from '../src/entities/email-preference-sync.entity.js';
import { UserSync } from '../src/entities/user-sync.entity.js';
import { FakeAccountApi } from './fake-account-api.js';

/** Sees every deletion of a staging row that the bus logs. */
const DeletionRecorder = recordingConnector('DeletionRecorder', [
  { objectType: 'staging.%', taskType: TaskType.DeleteObject },
]);

describe('AccountSyncConnector', () => {
  let db: TestDatabase;
  let app: INestApplication;
  let orm: MikroORM;
  const api = new FakeAccountApi();

  before(async () => {
    db = await createTestDatabase();
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot({ databaseUrl: db.url, bus: manualProcessing })],
      providers: [DeletionRecorder],
    })
      .overrideProvider(AccountApi)
      .useValue(api)
      .compile();
    orm = moduleRef.get(MikroORM);
    await orm.migrator.up();
    app = moduleRef.createNestApplication({ logger: ['error'] });
    await app.init();
  });

  after(async () => {
    await app?.close();
    await db?.drop();
  });

  beforeEach(() => {
    api.calls.length = 0;
    api.refused.clear();
    api.down = false;
    app.get(DeletionRecorder).clear();
  });

  const count = <T extends object>(entity: EntityClass<T>) => orm.em.fork().count(entity);

  it('loads the package the way this app is built (ESM import or CommonJS require)', () => {
    const format = typeof module === 'undefined' ? 'module' : 'commonjs';
    assert.equal(format, process.env.EXPECT_MODULE_FORMAT ?? format);
  });

  it('sends a new user row to the account service, then deletes the row', async () => {
    const em = orm.em.fork();
    em.create(UserSync, { acctNumber: 42, userName: 'ada', email: 'ada@example.com' });
    await em.flush();

    const outcome = await runOutgoingTask(app, 'AccountSyncConnector');

    assert.equal(outcome.result, IntegrationProcessResult.OK);
    assert.equal(outcome.stillQueued, false);
    assert.deepEqual(api.calls, [
      { acctNumber: 42, kind: 'user', body: { userName: 'ada', email: 'ada@example.com' } },
    ]);
    assert.equal(await count(UserSync), 0);
  });

  it('skips a refused row (SkipNow): the row and its task stay, with the refusal as message', async () => {
    api.refused.add(7);
    const em = orm.em.fork();
    em.create(EmailPreferenceSync, { acctNumber: 7, paymentAlerts: true, alertAboveBalance: 1500 });
    await em.flush();

    const refused = await runOutgoingTask(app, 'AccountSyncConnector');

    assert.equal(refused.result, IntegrationProcessResult.SkipNow);
    assert.match(refused.errorMessage ?? '', /^staging\.emailpreferencesync .* refused: no account 7$/);
    assert.equal(refused.stillQueued, true);
    assert.equal(await count(EmailPreferenceSync), 1);

    // The account is created on the other side; synchronizing the same task again now succeeds.
    api.refused.clear();
    const retried = await runOutgoingTask(app, 'AccountSyncConnector', refused.taskId);
    assert.equal(retried.result, IntegrationProcessResult.OK);
    assert.deepEqual(api.calls.at(-1), {
      acctNumber: 7,
      kind: 'emailPreferences',
      body: { paymentAlerts: true, alertAboveBalance: 1500 },
    });
    assert.equal(await count(EmailPreferenceSync), 0);
  });

  it('drains both tables in order; deleting with nativeDelete logs no task, em.remove does', async () => {
    const em = orm.em.fork();
    em.create(UserSync, { acctNumber: 1, userName: 'grace', email: 'grace@example.com' });
    em.create(EmailPreferenceSync, { acctNumber: 1, paymentAlerts: false, alertAboveBalance: 0 });
    await em.flush();

    const drained = await drainQueue(app);

    const sent = drained.byConnector['AccountSyncConnector'] ?? [];
    assert.deepEqual(
      sent.map((d) => [d.task.objectType, d.task.taskType, d.result]),
      [
        ['staging.usersync', 'CREATEOBJ', 'OK'],
        ['staging.emailpreferencesync', 'CREATEOBJ', 'OK'],
      ],
    );
    assert.equal(await count(UserSync), 0);
    assert.equal(await count(EmailPreferenceSync), 0);
    // The connector's own clean-up went around the unit of work: no DeleteObject task was logged.
    assert.deepEqual(app.get(DeletionRecorder).received, []);

    // A deletion through the unit of work is a change like any other: it is logged and delivered.
    const other = orm.em.fork();
    const row = other.create(UserSync, { acctNumber: 2, userName: 'linus', email: 'linus@example.com' });
    await other.flush();
    other.remove(row);
    await other.flush();
    await drainQueue(app, { connectorName: 'DeletionRecorder' });
    assert.deepEqual(
      app.get(DeletionRecorder).received.map((r) => [r.task.taskType, (r.task.object as UserSync).userName]),
      [['DELETEOBJ', 'linus']],
    );
    await drainQueue(app); // the create of 'linus' for AccountSyncConnector
  });

  it('keeps a row while the service is down (ErrorAndSkip) and sends it once it is back', async () => {
    api.down = true;
    const em = orm.em.fork();
    em.create(UserSync, { acctNumber: 3, userName: 'barbara', email: 'barbara@example.com' });
    await em.flush();

    const failed = await drainQueue(app, { connectorName: 'AccountSyncConnector' });
    assert.deepEqual(
      failed.deliveries.map((d) => [d.result, d.errorMessage]),
      [[IntegrationProcessResult.ErrorAndSkip, 'connect ECONNREFUSED account service']],
    );
    assert.equal(await count(UserSync), 1);

    // Back up; let the retry backoff pass for the bus, then drain again.
    api.down = false;
    await advanceRetryClock(app, 10 * 60_000);
    const resent = await drainQueue(app, { connectorName: 'AccountSyncConnector' });
    assert.deepEqual(
      resent.deliveries.map((d) => d.result),
      [IntegrationProcessResult.OK],
    );
    assert.equal(await count(UserSync), 0);
  });
});
