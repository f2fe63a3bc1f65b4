import { afterEach, describe, expect, it } from 'vitest';
import { GLOBAL_OBJECTS, TaskType } from 'nestjs-integration-bus';
import { useBusApp } from '../support/bus-app.js';
import { Site, User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

// Issue 11, item 1 (R-OUT-2): an entity's site is resolved whether its site relation is loaded or not.

const log: CallLog = [];
const corp = recordingConnector('CorpOnly', [{ objectType: 'cms.user', siteName: 'CorpSite' }], log);
const global = recordingConnector('GlobalOnly', [{ objectType: 'cms.user', siteName: GLOBAL_OBJECTS }], log);

const t = useBusApp({
  providers: [corp.provider, global.provider],
  bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
});

afterEach(async () => {
  await t.sql(`delete from integration_task`);
  await t.sql(`delete from t_user`);
  await t.sql(`delete from t_site`);
});

/** Each logged task's type and site, with the connectors it went to. */
async function tasks(): Promise<{ task_type: string; site_name: string | null; connectors: string }[]> {
  return t.sql(
    `select t.task_type, t.site_name, string_agg(c.code_name, ',' order by c.code_name) as connectors
       from integration_task t join ${ALL_SYNCHRONIZATIONS_SQL} s on s.task_id = t.id
       join integration_connector c on c.id = s.connector_id group by t.id order by t.id`,
  );
}

async function corpSiteId(): Promise<number> {
  const em = t.em();
  const site = em.create(Site, { name: 'CorpSite' });
  await em.flush();
  return site.id;
}

describe('site of an entity whose site relation is not loaded (item 1)', () => {
  it('a user created with em.getReference(Site, id) goes to the site subscriber, not to GLOBAL_OBJECTS', async () => {
    const siteId = await corpSiteId();
    const em = t.em();
    em.create(User, { userName: 'ref', site: em.getReference(Site, siteId) });
    await em.flush();
    expect(await tasks()).toEqual([
      { task_type: 'CREATEOBJ', site_name: 'CorpSite', connectors: 'CorpOnly' },
    ]);
  });

  it('a user loaded without populating its site keeps its site on update, delete and logInternalTask', async () => {
    const siteId = await corpSiteId();
    await t.sql(`insert into t_user (user_name, site_id, created_at) values ('lazy', $1, now())`, [siteId]);
    const em = t.em();
    const user = await em.findOneOrFail(User, { userName: 'lazy' });
    user.email = 'lazy@corp';
    await em.flush();
    await t.bus.logInternalTask(user, TaskType.AddToSite, { em });
    await em.transactional(async (tx) => {
      tx.remove(await tx.findOneOrFail(User, { userName: 'lazy' }));
    });
    expect(await tasks()).toEqual([
      { task_type: 'UPDATEOBJ', site_name: 'CorpSite', connectors: 'CorpOnly' },
      { task_type: 'ADDTOSITE', site_name: 'CorpSite', connectors: 'CorpOnly' },
      { task_type: 'DELETEOBJ', site_name: 'CorpSite', connectors: 'CorpOnly' },
    ]);
  });

  it('a global user still goes to GLOBAL_OBJECTS subscribers only', async () => {
    const em = t.em();
    em.create(User, { userName: 'nowhere' });
    await em.flush();
    expect(await tasks()).toEqual([{ task_type: 'CREATEOBJ', site_name: null, connectors: 'GlobalOnly' }]);
  });
});
