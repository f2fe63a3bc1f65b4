import { beforeEach, describe, expect, it } from 'vitest';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationProcessResult,
  Subscribe,
  TaskDataType,
  TaskProcessType,
  TaskType,
  type OutgoingTask,
  type ProcessOutcome,
} from 'nestjs-integration-bus';
import {
  advanceRetryClock,
  drainQueue,
  manualProcessing,
  recordingConnector,
  runIncomingTask,
  runOutgoingTask,
  ALL_SYNCHRONIZATIONS_SQL,
} from 'nestjs-integration-bus/testing';
import { useBusApp } from '../support/bus-app.js';
import { Role, Site, User } from '../support/entities.js';
import { giveLoneSynchronizationsRows } from '../support/lone-synchronizations.js';

/** Answers by user name: what a connector under test would decide from the object. */
@Connector('Crm')
@Subscribe({
  objectType: 'cms.user',
  taskType: TaskType.CreateObject,
  processType: TaskProcessType.AsyncSimple,
})
class CrmConnector extends BaseIntegrationConnector {
  override processInternalTaskAsync(task: OutgoingTask): ProcessOutcome {
    const user = task.object as User;
    if (user.userName.startsWith('skip')) {
      return { result: IntegrationProcessResult.SkipNow, errorMessage: `not now: ${user.userName}` };
    }
    if (user.userName.startsWith('throw')) throw new Error(`CRM down for ${user.userName}`);
    return IntegrationProcessResult.OK;
  }

  /** Incoming: a CRM record `{ login }` becomes a site named after it. */
  override prepareInternalObject(obj: unknown): Site | null {
    const record = obj as { login?: string };
    if (!record.login) return null;
    return Object.assign(new Site(), { name: record.login });
  }
}

const Recorder = recordingConnector('Recorder', [{ objectType: 'cms.role' }]);

describe('nestjs-integration-bus/testing', () => {
  const t = useBusApp({ providers: [CrmConnector, Recorder], bus: manualProcessing });

  beforeEach(async () => {
    await t.sql(`delete from integration_synchronization`);
    await t.sql(`delete from integration_task`);
  });

  const createUser = async (userName: string) => {
    const em = t.em();
    em.create(User, { userName });
    await em.flush();
  };

  it('runOutgoingTask: runs the oldest queued task through the connector and reports its answer', async () => {
    await createUser('ada');
    const ok = await runOutgoingTask<User>(t.app, 'Crm');
    expect(ok).toMatchObject({ connectorName: 'Crm', result: 'OK', errorMessage: null, stillQueued: false });
    expect(ok.delivered?.object.userName).toBe('ada');
    expect(ok.delivered?.task.taskType).toBe(TaskType.CreateObject);

    await createUser('skip-grace');
    const skipped = await runOutgoingTask(t.app, 'Crm');
    expect(skipped).toMatchObject({
      result: 'SKIPNOW',
      errorMessage: 'not now: skip-grace',
      stillQueued: true,
    });

    await createUser('throw-linus');
    const thrown = await runOutgoingTask(t.app, 'Crm', skipped.taskId + 1);
    expect(thrown).toMatchObject({
      result: 'ERROR',
      errorMessage: 'CRM down for throw-linus',
      stillQueued: true,
    });
  });

  it('runOutgoingTask: says so when nothing is queued for the connector', async () => {
    await expect(runOutgoingTask(t.app, 'Crm')).rejects.toThrow(/no outgoing task is queued for Crm/);
  });

  it('recordingConnector and drainQueue: what each connector received, in order, with its answer', async () => {
    const em = t.em();
    em.create(Role, { name: 'editor' });
    em.create(Role, { name: 'admin' });
    em.create(User, { userName: 'barbara' });
    await em.flush();
    const recorder = t.app
      .get(Recorder)
      .answerWith((task) =>
        (task.object as Role).name === 'admin'
          ? IntegrationProcessResult.ErrorAndSkip
          : IntegrationProcessResult.OK,
      );

    const drained = await drainQueue(t.app);

    expect(recorder.objects<Role>().map((r) => r.name)).toEqual(['editor', 'admin']);
    expect(recorder.received.map((r) => r.mode)).toEqual(['async', 'async']);
    expect(drained.byConnector['Recorder']?.map((d) => [d.task.objectType, d.result])).toEqual([
      ['cms.role', 'OK'],
      ['cms.role', 'ERRORANDSKIP'],
    ]);
    expect(drained.byConnector['Crm']?.map((d) => (d.object as User).userName)).toEqual(['barbara']);
    expect(drained.counts).toMatchObject({ OK: 2, ERRORANDSKIP: 1 });
    recorder.answerWith(IntegrationProcessResult.OK).clear();
  });

  it('advanceRetryClock: moves next_attempt_at earlier by the given time, of one connector or all', async () => {
    await createUser('carl');
    const em = t.em();
    em.create(Role, { name: 'guest' });
    await em.flush();
    // Both tasks wait for a retry an hour away, as after a failed attempt: which gives each a row.
    await giveLoneSynchronizationsRows(t);
    await t.sql(
      `update integration_synchronization set state = 'retrying', next_attempt_at = now() + interval '1 hour'`,
    );
    const due = () =>
      t.sql<{ code_name: string; late: boolean }>(
        `select c.code_name, s.next_attempt_at > now() as late from ${ALL_SYNCHRONIZATIONS_SQL} s
           join integration_connector c on c.id = s.connector_id order by c.code_name`,
      );

    expect(await advanceRetryClock(t.app, 30 * 60_000, { connectorName: 'Crm' })).toBe(1);
    expect(await due()).toEqual([
      { code_name: 'Crm', late: true },
      { code_name: 'Recorder', late: true },
    ]);
    expect(await advanceRetryClock(t.orm, 31 * 60_000, { connectorName: 'Crm' })).toBe(1);
    expect(await advanceRetryClock(t.em(), 59 * 60_000)).toBe(2);
    expect(await due()).toEqual([
      { code_name: 'Crm', late: false },
      { code_name: 'Recorder', late: true },
    ]);
    await expect(advanceRetryClock(t.app, -1)).rejects.toThrow(RangeError);
  });

  it('runIncomingTask: logs an external object for a connector and applies it at once', async () => {
    const outcome = await runIncomingTask(
      t.app,
      'Crm',
      { login: 'intranet' },
      {
        taskType: TaskType.CreateObject,
        dataType: TaskDataType.Simple,
      },
    );
    expect(outcome).toMatchObject({ result: 'OK', stillQueued: false });
    expect(await t.sql(`select name from t_site`)).toEqual([{ name: 'intranet' }]);

    const nothing = await runIncomingTask(t.app, 'Crm', {}, { taskType: TaskType.CreateObject });
    expect(nothing).toBeNull();
  });
});
