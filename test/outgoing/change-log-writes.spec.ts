import { afterEach, describe, expect, it } from 'vitest';
import { TaskProcessType } from 'nestjs-integration-bus';
import { useBusApp } from '../support/bus-app.js';
import { User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';

// The change log writes a flush's tasks three ways (issue 25): one change for one connector by a
// one-row statement, a few by the JSON statement, 50 and more by COPY. Each must keep R-OUT-4.
const log: CallLog = [];
const only = recordingConnector(
  'Only',
  [{ objectType: 'cms.user', processType: TaskProcessType.AsyncSimple }],
  log,
);

const t = useBusApp({
  providers: [only.provider],
  bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
});
afterEach(async () => {
  log.length = 0;
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from t_user`);
});

interface Row {
  id: string;
  title: string;
  object_id: string;
  connector_id: number;
  partition: number;
  data: { fields: { userName: string; id: number } };
}

const rows = (): Promise<Row[]> =>
  t.sql<Row>(`select id, title, object_id, connector_id, partition, data from integration_task order by id`);

describe.each([1, 10, 120])('a flush of %i changes for one connector (R-OUT-4)', (count) => {
  // A tab, a newline and a backslash: COPY's text format escapes them.
  const names = Array.from({ length: count }, (_, i) => `user\t${i}\\x\ny`);

  it('writes a task per change, its snapshot and in change order', async () => {
    const em = t.em();
    const users = names.map((userName) => em.create(User, { userName }));
    await em.flush();
    const logged = await rows();
    expect(logged.map((r) => r.data.fields.userName)).toEqual(names);
    expect(logged.map((r) => r.object_id)).toEqual(users.map((u) => String(u.id)));
    expect(logged.every((r) => r.title === `Create User '${r.data.fields.userName}'`)).toBe(true);
    const ids = logged.map((r) => Number(r.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const connector = await t.sql<{ id: number }>(
      `select id from integration_connector where code_name = 'Only'`,
    );
    expect(logged.every((r) => r.connector_id === connector[0]!.id && r.partition === 0)).toBe(true);
  });

  it('writes them in the change’s transaction: a rollback keeps none', async () => {
    await expect(
      t.em().transactional(async (tx) => {
        for (const userName of names) tx.create(User, { userName });
        await tx.flush();
        expect(await rows()).toHaveLength(0); // not visible outside before commit
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await rows()).toHaveLength(0);
  });

  it('fails the change when writing a task fails', async () => {
    await t.sql(`alter table integration_task add constraint no_last check (title not like '%y''')`);
    try {
      const em = t.em();
      for (const userName of names) em.create(User, { userName });
      await expect(em.flush()).rejects.toThrow(/no_last/);
      expect(await t.sql(`select * from t_user where user_name like 'user%'`)).toHaveLength(0);
      // The connection is usable afterwards.
      const next = t.em();
      next.create(User, { userName: 'after' });
      await t.sql(`alter table integration_task drop constraint no_last`);
      await next.flush();
      expect((await rows()).map((r) => r.data.fields.userName)).toEqual(['after']);
    } finally {
      await t.sql(`alter table integration_task drop constraint if exists no_last`);
    }
  });
});
