import { afterEach, describe, expect, it } from 'vitest';
import {
  IntegrationProcessResult,
  TaskDataType,
  TaskProcessType,
  TaskRefreshError,
  type OutgoingTask,
} from 'nestjs-integration-bus';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';
import { Counter, Role } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { useManagementApp } from '../management/management-app.js';
import { seedCounters } from './resync-support.js';

const R = IntegrationProcessResult;
const log: CallLog = [];
const snap = { processType: TaskProcessType.AsyncSimpleSnapshot };
const erp = recordingConnector('Erp', [{ objectType: 'test.counter', ...snap }], log, {
  retry: { maxAttempts: 2, initialDelayMs: 60_000, jitter: false },
});
const crm = recordingConnector('Crm', [{ objectType: 'test.counter', ...snap }], log);
const plain = recordingConnector('Plain', [{ objectType: 'cms.role' }], log);
const { t, http } = useManagementApp({ providers: [erp.provider, crm.provider, plain.provider] });

afterEach(async () => {
  log.length = 0;
  erp.control.respond = () => R.OK;
  crm.control.respond = () => R.OK;
  plain.control.respond = () => R.OK;
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from t_counter`);
  await t.sql(`delete from t_role`);
});

const versionOf = (task: OutgoingTask) => (task.object as Counter).version;
const deliveries = (connector: string) =>
  log
    .filter((c) => c.connector === connector)
    .map((c) => `${(c.task.object as Counter).code}@v${versionOf(c.task)}`);

/** Changes counter 1 through MikroORM: one task for Erp and Crm. */
async function bump(tag: string): Promise<number> {
  const em = t.em();
  const counter = await em.findOneOrFail(Counter, 1);
  counter.version += 1;
  counter.tag = tag;
  await em.flush();
  const [task] = await t.sql<{ id: string }>(`select max(id)::text as id from integration_task`);
  return Number(task!.id);
}

async function stateOf(taskId: number, connector: string): Promise<string | null | undefined> {
  const [row] = await t.sql<{ state: string | null }>(
    `select s.state from ${ALL_SYNCHRONIZATIONS_SQL} s join integration_connector c on c.id = s.connector_id
      where s.task_id = $1 and c.code_name = $2`,
    [taskId, connector],
  );
  return row?.state;
}

describe('requeue with fresh data (R-RES-3)', () => {
  it('R-RES-3 a skipped task requeued with refresh goes back with the row as it is now, after the changes queued before it', async () => {
    await seedCounters(t, 1);
    const stale = await bump('broken'); // v2: the external system refuses it
    erp.control.respond = (task) => (versionOf(task) === 2 ? R.ErrorAndSkip : R.OK);
    await t.bus.processOutgoingTasks('Erp');
    expect(await stateOf(stale, 'Erp')).toBe('retrying'); // ErrorAndSkip: retried after a backoff
    // The row is fixed by hand (no task), as a support engineer would.
    await t.sql(`update t_counter set version = 3, tag = 'fixed' where id = 1`);

    // Without refresh the stored snapshot goes again: the external system still gets v2.
    await t.bus.requeueTask(stale, 'Erp');
    await t.bus.processOutgoingTasks('Erp');
    expect(deliveries('Erp')).toEqual(['c-00001@v2', 'c-00001@v2']);
    expect(await stateOf(stale, 'Erp')).toBe('retrying');

    log.length = 0;
    erp.control.respond = () => R.OK;
    expect(await t.bus.requeueTask(stale, 'Erp', { refresh: true })).toBe(1);
    await t.bus.processOutgoingTasks('Erp');
    expect(deliveries('Erp')).toEqual(['c-00001@v3']);
    const task = log[0]!.task;
    expect(task.dataType).toBe(TaskDataType.SimpleSnapshot);
    expect((task.object as Counter).tag).toBe('fixed');
    expect(task.id).toBeGreaterThan(stale);
    expect(await stateOf(stale, 'Erp')).toBeUndefined(); // the stale one is gone for Erp
  });

  it('R-RES-3 a task refused with SkipNow, and one failed once with Error, each go back with the row as it is now', async () => {
    await seedCounters(t, 1);
    // The task of a change answered `answer`, the row fixed by hand to `version`, then requeued
    // with refresh: the row as it is now is delivered, and the stale task is gone for Erp.
    const refreshedAfter = async (answer: IntegrationProcessResult, state: string, version: number) => {
      const task = await bump(`v${version}`);
      erp.control.respond = () => answer;
      await t.bus.processOutgoingTasks('Erp');
      expect(await stateOf(task, 'Erp')).toBe(state);
      await t.sql(`update t_counter set version = $1, tag = 'fixed' where id = 1`, [version]);
      erp.control.respond = () => R.OK;
      log.length = 0;
      expect(await t.bus.requeueTask(task, 'Erp', { refresh: true })).toBe(1);
      await t.bus.processOutgoingTasks('Erp');
      expect(deliveries('Erp')).toEqual([`c-00001@v${version}`]);
      expect((log[0]!.task.object as Counter).tag).toBe('fixed');
      expect(await stateOf(task, 'Erp')).toBeUndefined();
    };
    await refreshedAfter(R.SkipNow, 'skipped', 7);
    await refreshedAfter(R.Error, 'failed', 9); // answered Error once: retried after its backoff
  });

  it('R-RES-3 another connector waiting for the same task keeps its own', async () => {
    await seedCounters(t, 1);
    const shared = await bump('one');
    erp.control.respond = () => R.ErrorAndSkip;
    await t.bus.processOutgoingTasks('Erp');
    await t.sql(`update t_counter set version = 9 where id = 1`);
    expect(await t.bus.requeueTask(shared, 'Erp', { refresh: true })).toBe(1);
    expect(await stateOf(shared, 'Crm')).toBeNull(); // still waiting, as it was
    erp.control.respond = () => R.OK;
    await t.bus.processOutgoingTasks();
    expect(deliveries('Crm')).toEqual(['c-00001@v2']);
    expect(deliveries('Erp')).toEqual(['c-00001@v2', 'c-00001@v9']);
  });

  it('R-RES-3 over HTTP: a parked task requeued with refresh: true; a later change of the row still comes after it', async () => {
    await seedCounters(t, 1);
    const parked = await bump('bad');
    erp.control.respond = () => R.Error;
    await t.bus.processOutgoingTasks('Erp');
    await t.bus.synchronizeTask(parked, 'Erp'); // the second failure parks it (maxAttempts 2)
    expect(await stateOf(parked, 'Erp')).toBe('parked');
    await t.sql(`update t_counter set version = 5 where id = 1`);
    erp.control.respond = () => R.OK;
    log.length = 0;

    const res = await http('POST', `/tasks/${parked}/requeue`, {
      body: { connectorName: 'Erp', refresh: true },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ requeued: 1 });
    await bump('later'); // v6, logged after the refreshed task
    await t.bus.processOutgoingTasks('Erp');
    expect(deliveries('Erp')).toEqual(['c-00001@v5', 'c-00001@v6']);
  });

  it('R-SEC-3 refresh of a Simple task, a delete, or a task whose object is gone is a 400 naming refresh; nothing changes', async () => {
    await t.sql(`insert into t_role (id, name) values (1, 'editor')`);
    const em = t.em();
    const role = await em.findOneOrFail(Role, 1);
    role.name = 'chief editor';
    await em.flush();
    const [simple] = await t.sql<{ id: string }>(`select max(id)::text as id from integration_task`);
    plain.control.respond = () => R.ErrorAndSkip;
    await t.bus.processOutgoingTasks('Plain');
    const simpleAnswer = await http('POST', `/tasks/${simple!.id}/requeue`, { body: { refresh: true } });
    expect(simpleAnswer.status).toBe(400);
    expect(simpleAnswer.body).toMatchObject({ field: 'refresh' });
    expect(String(simpleAnswer.body.message)).toContain('SIMPLE');

    await seedCounters(t, 1);
    const gone = await bump('x');
    erp.control.respond = () => R.ErrorAndSkip;
    await t.bus.processOutgoingTasks('Erp');
    await t.sql(`delete from t_counter where id = 1`);
    await expect(t.bus.requeueTask(gone, 'Erp', { refresh: true })).rejects.toBeInstanceOf(TaskRefreshError);
    const goneAnswer = await http('POST', `/tasks/${gone}/requeue`, { body: { refresh: true } });
    expect(goneAnswer.status).toBe(400);
    expect(String(goneAnswer.body.message)).toContain('no longer exists');
    expect(await stateOf(gone, 'Erp')).toBe('retrying');

    const bad = await http('POST', `/tasks/${gone}/requeue`, { body: { refresh: 'yes' } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ field: 'refresh' });
  });
});
