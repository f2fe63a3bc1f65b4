import { afterEach, describe, expect, it } from 'vitest';
import { useBusApp } from '../support/bus-app.js';
import { Article, Site, User } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';

// Issue 11, item 16: lifecycle task types detected from the unit of work, where the entity declares
// what they mean (site relation, alias path / parent, published / archived).

const log: CallLog = [];
const all = recordingConnector('All', [{ objectType: 'cms.user' }, { document: true }], log);

const t = useBusApp({
  providers: [all.provider],
  bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
});

afterEach(async () => {
  await t.sql(`delete from t_user`);
  await t.sql(`delete from t_article`);
  await t.sql(`delete from t_site`);
  await t.sql(`delete from integration_task`);
});

async function tasks(): Promise<[string, string | null][]> {
  const rows = await t.sql<{ task_type: string; site_name: string | null }>(
    `select task_type, site_name from integration_task order by id`,
  );
  return rows.map((r) => [r.task_type, r.site_name]);
}

async function twoSites(): Promise<{ a: number; b: number }> {
  const em = t.em();
  const a = em.create(Site, { name: 'A' });
  const b = em.create(Site, { name: 'B' });
  await em.flush();
  return { a: a.id, b: b.id };
}

describe('objects: a change of the site relation (item 16)', () => {
  it('logs the update, then RemoveFromSite with the old site and AddToSite with the new one', async () => {
    const ids = await twoSites();
    await t.sql(`insert into t_user (user_name, site_id, created_at) values ('mover', $1, now())`, [ids.a]);
    const em = t.em();
    const user = await em.findOneOrFail(User, { userName: 'mover' }); // site not populated
    user.site = em.getReference(Site, ids.b);
    await em.flush();
    expect(await tasks()).toEqual([
      ['UPDATEOBJ', 'B'],
      ['REMOVEFROMSITE', 'A'],
      ['ADDTOSITE', 'B'],
    ]);
    await t.sql(`delete from integration_task`);
    user.site = null;
    user.email = 'mover@global';
    await em.flush();
    expect(await tasks()).toEqual([
      ['UPDATEOBJ', null],
      ['REMOVEFROMSITE', 'B'],
    ]);
    await t.sql(`delete from integration_task`);
    user.site = em.getReference(Site, ids.a);
    await em.flush();
    expect(await tasks()).toEqual([
      ['UPDATEOBJ', 'A'],
      ['ADDTOSITE', 'A'],
    ]);
    await t.sql(`delete from integration_task`);
    user.email = 'mover@a';
    await em.flush();
    expect(await tasks()).toEqual([['UPDATEOBJ', 'A']]);
  });
});

describe('documents: moves, publishing and archiving (item 16)', () => {
  it('logs MoveDocument for an alias path or parent change, Publish/ArchiveDocument when the flag turns true', async () => {
    const em = t.em();
    const home = em.create(Article, { aliasPath: '/home', culture: 'en', nodeGuid: 'g-home', title: 'Home' });
    const news = em.create(Article, { aliasPath: '/news', culture: 'en', nodeGuid: 'g-news', title: 'News' });
    await em.flush();
    await t.sql(`delete from integration_task`);

    news.aliasPath = '/home/news';
    await em.flush();
    news.parent = home;
    await em.flush();
    news.published = true;
    await em.flush();
    news.title = 'News!';
    news.archived = true;
    news.published = false;
    await em.flush();
    news.archived = false; // turned false: an ordinary update
    await em.flush();
    expect((await tasks()).map(([type]) => type)).toEqual([
      'UPDATEDOC',
      'MOVEDOC',
      'UPDATEDOC',
      'MOVEDOC',
      'UPDATEDOC',
      'PUBLISHDOC',
      'UPDATEDOC',
      'ARCHIVEDOC',
      'UPDATEDOC',
    ]);
  });
});
