import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationProcessResult,
  Subscribe,
  TaskProcessType,
  type OutgoingTask,
} from 'nestjs-integration-bus';
import { createBusApp, type BusTestApp } from '../support/bus-app.js';
import { createTestDatabase } from '../support/database.js';
import { User } from '../support/entities.js';

const received: OutgoingTask<User>[] = [];

@Connector('Crm')
@Subscribe({ objectType: 'cms.user', processType: TaskProcessType.AsyncSimple })
class CrmConnector extends BaseIntegrationConnector {
  override processInternalTaskAsync(task: OutgoingTask) {
    received.push(task as OutgoingTask<User>);
    return IntegrationProcessResult.OK;
  }
}

describe('smoke', () => {
  let db: { url: string; drop: () => Promise<void> };
  let t: BusTestApp;
  beforeAll(async () => {
    db = await createTestDatabase(inject('serverUrl'));
    t = await createBusApp({ databaseUrl: db.url, providers: [CrmConnector] });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('logs a created user and processes it', async () => {
    const em = t.em();
    em.create(User, { userName: 'antonio' });
    await em.flush();
    await t.bus.processOutgoingTasks();
    expect(received.map((r) => r.object.userName)).toEqual(['antonio']);
    expect(received[0]!.object).toBeInstanceOf(User);
    const left = await t.sql(`select * from integration_task`);
    expect(left).toHaveLength(0);
  });
});
