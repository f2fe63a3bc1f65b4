// test/account-sync.spec.ts
import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/core';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { IntegrationProcessResult } from 'nestjs-integration-bus';
import {
  advanceRetryClock,
  createTestDatabase,
  drainQueue,
  manualProcessing,
} from 'nestjs-integration-bus/testing';
import { runOutgoingTask, type TestDatabase } from 'nestjs-integration-bus/testing';
import { AccountApi, type AccountApiReply } from '../src/account-api.js';
import { AppModule } from '../src/app.module.js';
import { UserSync } from '../src/entities/user-sync.entity.js';

/** The account service, in memory: refuses the accounts in `refused`, throws while `down`. */
class FakeAccountApi extends AccountApi {
  readonly refused = new Set<number>();
  down = false;
  async updateUser(acctNumber: number): Promise<AccountApiReply> {
    return this.answer(acctNumber);
  }
  async setEmailPreferences(acctNumber: number): Promise<AccountApiReply> {
    return this.answer(acctNumber);
  }
  private answer(acctNumber: number): AccountApiReply {
    if (this.down) throw new Error('connect ECONNREFUSED account service');
    return this.refused.has(acctNumber) ? { ok: false, error: `no account ${acctNumber}` } : { ok: true };
  }
}

const api = new FakeAccountApi();
let db: TestDatabase;
let app: INestApplication;
let orm: MikroORM;

beforeAll(async () => {
  db = await createTestDatabase(); // on DATABASE_URL's server, else on an embedded PostgreSQL
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.forRoot({ databaseUrl: db.url, bus: manualProcessing })],
  })
    .overrideProvider(AccountApi)
    .useValue(api)
    .compile();
  orm = moduleRef.get(MikroORM);
  await orm.migrator.up(); // before init: connectors are registered in the bus's tables
  app = moduleRef.createNestApplication({ logger: ['error'] });
  await app.init();
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});
beforeEach(() => {
  api.refused.clear();
  api.down = false;
});

async function addUserRow(acctNumber: number, userName: string): Promise<void> {
  const em = orm.em.fork();
  em.create(UserSync, { acctNumber, userName, email: `${userName}@example.com` });
  await em.flush(); // logs the task, in the same transaction
}

it('skips a row the service refuses, and sends it once the account exists', async () => {
  api.refused.add(7);
  await addUserRow(7, 'ada');

  const refused = await runOutgoingTask(app, 'AccountSyncConnector');
  expect(refused).toMatchObject({ result: IntegrationProcessResult.SkipNow, stillQueued: true });
  expect(refused.errorMessage).toMatch(/refused: no account 7/);

  api.refused.clear();
  const sent = await runOutgoingTask(app, 'AccountSyncConnector', refused.taskId);
  expect(sent.result).toBe(IntegrationProcessResult.OK);
  expect(await orm.em.fork().count(UserSync)).toBe(0); // the staging row is gone
});

it('keeps a row while the service is down (a throw is ErrorAndSkip), and sends it after the backoff', async () => {
  api.down = true;
  await addUserRow(8, 'grace');
  const first = await drainQueue(app);
  expect(first.deliveries.map((d) => [d.result, d.errorMessage])).toEqual([
    [IntegrationProcessResult.ErrorAndSkip, 'connect ECONNREFUSED account service'],
  ]);

  api.down = false;
  await advanceRetryClock(app, 10 * 60_000); // ten minutes later, for the bus
  const second = await drainQueue(app);
  expect(second.byConnector.AccountSyncConnector?.map((d) => d.result)).toEqual([
    IntegrationProcessResult.OK,
  ]);
});
