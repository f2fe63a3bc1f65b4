import { EventEmitter2 } from '@nestjs/event-emitter';
import { afterEach, describe, expect, it } from 'vitest';
import {
  IntegrationEvents,
  InvalidExternalTaskError,
  TaskType,
  type IntegrationTaskInfo,
} from 'nestjs-integration-bus';
import { NOTIFY_TOKEN } from '../management/management-app.js';
import { useIncomingHttpApp } from './incoming-http-app.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const { t, http } = useIncomingHttpApp();

afterEach(async () => {
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from integration_idempotency_key`);
  await t.sql(`delete from t_user`);
});

const logWithKey = (connectorName: string, login: string, idempotencyKey: string) =>
  t.bus.processExternalTask(connectorName, { login }, { taskType: TaskType.CreateObject, idempotencyKey });

const ingestWithKey = (codeName: string, login: string, key: string) =>
  http('POST', `/connectors/${codeName}/incoming`, {
    token: NOTIFY_TOKEN,
    body: { object: { login }, taskType: 'CREATEOBJ' },
    headers: { 'Idempotency-Key': key },
  });

/**
 * Holds every LogExternalTask.Before listener call until `count` calls wait: the callers have all
 * passed the read of existing keys, so only the table's key can keep them from each logging a task.
 */
async function allPastTheRead<T>(count: number, run: () => Promise<T>): Promise<T> {
  const emitter = t.app.get(EventEmitter2);
  let arrived = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const listener = async () => {
    if (++arrived === count) release();
    await gate;
  };
  emitter.on(IntegrationEvents.LogExternalTask.Before, listener);
  try {
    return await run();
  } finally {
    emitter.off(IntegrationEvents.LogExternalTask.Before, listener);
    expect(arrived).toBe(count);
  }
}

async function tasksByConnector(): Promise<Record<string, number>> {
  const rows = await t.sql<{ code_name: string; n: number }>(
    `select c.code_name, count(*)::int as n from integration_task t
       join ${ALL_SYNCHRONIZATIONS_SQL} s on s.task_id = t.id
       join integration_connector c on c.id = s.connector_id group by c.code_name`,
  );
  return Object.fromEntries(rows.map((r) => [r.code_name, r.n]));
}

describe('idempotent intake: processExternalTask(…, { idempotencyKey }) (R-ECO-3)', () => {
  it('logs one task for a key used twice in a row, and returns that task both times', async () => {
    const first = await logWithKey('Crm', 'ada', 'order-1');
    const second = await logWithKey('Crm', 'ada-changed', 'order-1');
    expect(first?.id).toBeGreaterThan(0);
    expect(second).toEqual(first);
    expect(await tasksByConnector()).toEqual({ Crm: 1 });
    // The stored task is the first call's object, not the second's.
    const [row] = await t.sql<{ user_name: string }>(
      `select data->'fields'->>'userName' as user_name from integration_task`,
    );
    expect(row!.user_name).toBe('ada');
  });

  it('logs one task for a key used by 8 calls at once: all get the same task id', async () => {
    const calls = await allPastTheRead(8, () =>
      Promise.all(Array.from({ length: 8 }, (_, i) => logWithKey('Crm', `racer-${i}`, 'race-1'))),
    );
    const ids = new Set(calls.map((task) => task?.id));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toBeGreaterThan(0);
    expect(await tasksByConnector()).toEqual({ Crm: 1 });
    const [keys] = await t.sql<{ n: number }>(`select count(*)::int as n from integration_idempotency_key`);
    expect(keys!.n).toBe(1);
  });

  it('keeps keys per connector: one key for two connectors logs a task for each', async () => {
    const crm = await logWithKey('Crm', 'ada', 'shared-key');
    const erp = await logWithKey('Erp', 'ada', 'shared-key');
    expect(crm?.id).not.toBe(erp?.id);
    expect(await tasksByConnector()).toEqual({ Crm: 1, Erp: 1 });
  });

  it('still answers with the first task once it has been processed and deleted', async () => {
    const first = await logWithKey('Crm', 'grace', 'order-2');
    await t.bus.processIncomingTasks('Crm');
    expect(await tasksByConnector()).toEqual({});
    const [user] = await t.sql<{ n: number }>(
      `select count(*)::int as n from t_user where user_name = 'grace'`,
    );
    expect(user!.n).toBe(1);
    const again: IntegrationTaskInfo | null = await logWithKey('Crm', 'grace', 'order-2');
    expect(again).toEqual(first);
    expect(await tasksByConnector()).toEqual({});
  });

  it('logs again once the key is older than idempotencyWindowMs (7 days by default)', async () => {
    const first = await logWithKey('Crm', 'ada', 'order-3');
    await t.sql(`update integration_idempotency_key set created_at = now() - interval '7 days 1 minute'`);
    const second = await logWithKey('Crm', 'ada', 'order-3');
    expect(second?.id).toBeGreaterThan(first!.id);
    expect(await tasksByConnector()).toEqual({ Crm: 2 });
    // Six days old: still remembered.
    await t.sql(`update integration_idempotency_key set created_at = now() - interval '6 days'`);
    expect(await logWithKey('Crm', 'ada', 'order-3')).toEqual(second);
    expect(await tasksByConnector()).toEqual({ Crm: 2 });
  });

  it('purges expired keys of any connector when a new key is taken', async () => {
    await logWithKey('Erp', 'old', 'old-key');
    await t.sql(`update integration_idempotency_key set created_at = now() - interval '8 days'`);
    await logWithKey('Crm', 'new', 'new-key');
    const keys = await t.sql<{ key: string }>(`select key from integration_idempotency_key`);
    expect(keys.map((k) => k.key)).toEqual(['new-key']);
  });

  it('rejects an empty, too long or non-ASCII key with InvalidExternalTaskError, logging nothing', async () => {
    for (const key of ['', 'k'.repeat(201), 'has space', 'naïve', 'tab\there']) {
      await expect(logWithKey('Crm', 'ada', key)).rejects.toThrow(InvalidExternalTaskError);
    }
    await expect(logWithKey('Crm', 'ada', 'k'.repeat(201))).rejects.toThrow(
      /idempotencyKey must be 1 to 200/,
    );
    expect(await logWithKey('Crm', 'ada', 'k'.repeat(200))).not.toBeNull();
    expect(await tasksByConnector()).toEqual({ Crm: 1 });
  });
});

describe('POST /{path}/connectors/:codeName/incoming with an Idempotency-Key header (R-ECO-3)', () => {
  it('answers 201 the first time, then 200 { taskId, duplicate: true } with the same task', async () => {
    const first = await ingestWithKey('Crm', 'ada', '3f1c9a52-1b2e-4c1d-9d1e-7a0b5c6d7e8f');
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ taskId: expect.any(Number) });
    const second = await ingestWithKey('Crm', 'ada', '3f1c9a52-1b2e-4c1d-9d1e-7a0b5c6d7e8f');
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ taskId: first.body.taskId, duplicate: true });
    expect(await tasksByConnector()).toEqual({ Crm: 1 });
  });

  it('logs one task for 6 concurrent requests with one key', async () => {
    const answers = await allPastTheRead(6, () =>
      Promise.all(Array.from({ length: 6 }, () => ingestWithKey('Crm', 'ada', 'http-race'))),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.taskId)).size).toBe(1);
    expect(await tasksByConnector()).toEqual({ Crm: 1 });
  });

  it('shares keys with processExternalTask: a header replaying an API key is a duplicate', async () => {
    const logged = await logWithKey('Crm', 'ada', 'same-everywhere');
    const res = await ingestWithKey('Crm', 'ada', 'same-everywhere');
    expect(res.body).toEqual({ taskId: logged!.id, duplicate: true });
  });

  it('answers 400 naming Idempotency-Key for a bad key, and writes nothing', async () => {
    for (const key of ['k'.repeat(201), 'two words']) {
      const res = await ingestWithKey('Crm', 'ada', key);
      expect({ status: res.status, field: res.body.field }).toEqual({
        status: 400,
        field: 'Idempotency-Key',
      });
    }
    expect(await tasksByConnector()).toEqual({});
  });
});
