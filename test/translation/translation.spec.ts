import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationProcessResult,
  Subscribe,
  TaskDataType,
  TaskProcessType,
  TranslationHelper,
  type ExternalDocumentQuery,
  type ExternalObjectQuery,
  type OutgoingTask,
} from 'nestjs-integration-bus';
import { useBusApp } from '../support/bus-app.js';
import { Page, PageTag, Poll, PollAnswer, Role, Site, User, UserRole, Vote } from '../support/entities.js';
import { recordingConnector, type CallLog } from '../support/recording-connector.js';
import { ALL_SYNCHRONIZATIONS_SQL } from 'nestjs-integration-bus/testing';

const R = IntegrationProcessResult;
const log: CallLog = [];
const simple = recordingConnector(
  'Simple',
  [{ objectType: 'cms.user', processType: TaskProcessType.AsyncSimple }],
  log,
);
const simpleSnapshot = recordingConnector(
  'SimpleSnapshot',
  [
    { objectType: 'cms.user', processType: TaskProcessType.AsyncSimpleSnapshot },
    { objectType: 'polls.vote', processType: TaskProcessType.AsyncSimpleSnapshot },
    { document: true, processType: TaskProcessType.AsyncSimpleSnapshot },
  ],
  log,
);
const snapshot = recordingConnector(
  'Snapshot',
  [
    { objectType: 'cms.user', processType: TaskProcessType.AsyncSnapshot },
    { document: true, processType: TaskProcessType.AsyncSnapshot },
  ],
  log,
);

/**
 * A connector talking to a fake external system kept in memory: it follows the recommended order
 * of the reference (translate without children, save the main object, translate with children,
 * process the children) and counts the lookups the translation cache saves.
 */
abstract class ExternalPollSystem extends BaseIntegrationConnector {
  readonly polls = new Map<string, number>();
  readonly answers: Record<string, unknown>[] = [];
  readonly lookups: string[] = [];
  readonly steps: Record<string, unknown>[] = [];
  readonly children: PollAnswer[] = [];
  #next = 100;

  override getExternalObjectId(query: ExternalObjectQuery) {
    this.lookups.push(`${query.objectType}:${query.codeName}`);
    if (query.objectType === 'polls.poll') return this.polls.get(query.codeName!) ?? null;
    if (query.objectType === 'cms.site') return `site-${query.codeName}`;
    return null;
  }

  override getExternalDocumentId(query: ExternalDocumentQuery, returnDocumentId: boolean) {
    return `${returnDocumentId ? 'doc' : 'node'}-${query.nodeGuid}-${query.cultureCode}`;
  }

  override async processInternalTaskAsync(task: OutgoingTask) {
    const poll = task.object as Poll;
    this.children.push(...poll.answers.getItems());
    const main = await this.translateColumnsToExternal(poll, task.translations, false);
    this.steps.push(main);
    this.polls.set(poll.codeName, this.#next++);
    const full = await this.translateColumnsToExternal(poll, task.translations, true);
    this.steps.push(full);
    for (const answer of full.answers as Record<string, unknown>[]) this.answers.push(answer);
    return R.OK;
  }
}

@Connector('ExternalPolls')
@Subscribe({ objectType: 'polls.poll', processType: TaskProcessType.AsyncSnapshot })
class ExternalPolls extends ExternalPollSystem {}

@Connector('CachingPolls', { clearTranslationsAfterEachTask: false })
@Subscribe({ objectType: 'polls.poll', processType: TaskProcessType.AsyncSnapshot })
class CachingPolls extends ExternalPollSystem {}

/** Translates a user's foreign keys; used for the missing-reference case. */
@Connector('UserTranslator')
@Subscribe({
  objectType: 'cms.user',
  objectCodeName: 'dangling%',
  processType: TaskProcessType.AsyncSimpleSnapshot,
})
class UserTranslator extends BaseIntegrationConnector {
  override getExternalObjectId(query: ExternalObjectQuery) {
    return `site-${query.codeName}`;
  }
  override async processInternalTaskAsync(task: OutgoingTask) {
    await this.translateColumnsToExternal(task.object, task.translations);
    return R.OK;
  }
}

const t = useBusApp({
  providers: [
    simple.provider,
    simpleSnapshot.provider,
    snapshot.provider,
    ExternalPolls,
    CachingPolls,
    UserTranslator,
  ],
  bus: { outgoing: { processAfterCommit: false, sweepIntervalMs: 0 } },
});

afterEach(async () => {
  log.length = 0;
  await t.sql(`delete from integration_task`);
});

function received(connector: string): OutgoingTask[] {
  return log.filter((c) => c.connector === connector).map((c) => c.task);
}

async function createUserWithRoles(): Promise<{ site: Site; user: User; roles: Role[] }> {
  const em = t.em();
  const site = em.create(Site, { name: 'CorpSite' });
  const roles = [em.create(Role, { name: 'editors' }), em.create(Role, { name: 'admins' })];
  await em.flush();
  await t.sql(`delete from integration_task`);
  const user = em.create(User, { userName: 'anna', email: 'anna@example.com', site });
  for (const role of roles) em.create(UserRole, { user, role });
  await em.flush();
  return { site, user, roles };
}

describe('data types (R-OUT-9)', () => {
  it('Simple carries the own columns only', async () => {
    const { site } = await createUserWithRoles();
    await t.bus.processOutgoingTasks('Simple');
    const [task] = received('Simple');
    expect(task!.dataType).toBe(TaskDataType.Simple);
    const user = task!.object as User;
    expect(user).toBeInstanceOf(User);
    expect(user).toMatchObject({ userName: 'anna', email: 'anna@example.com' });
    expect(user.site?.id).toBe(site.id); // the foreign key, as an unloaded reference
    expect(user.createdAt).toBeInstanceOf(Date);
    expect(task!.translations.records).toEqual([]);
    expect(user.roles.isInitialized()).toBe(false);
  });

  it('SimpleSnapshot adds a translation record per foreign key to an integration object', async () => {
    const { site } = await createUserWithRoles();
    await t.bus.processOutgoingTasks('SimpleSnapshot');
    const [task] = received('SimpleSnapshot');
    expect(task!.dataType).toBe(TaskDataType.SimpleSnapshot);
    expect(task!.translations.records).toEqual([
      {
        property: 'site',
        isDocument: false,
        objectType: 'cms.site',
        id: site.id,
        codeName: 'CorpSite',
        siteName: null,
        parentType: null,
        parentId: null,
        groupId: null,
        nodeGuid: null,
        culture: null,
        referencesNode: false,
        missing: false,
      },
    ]);
    expect(task!.translations.forProperty('site')?.codeName).toBe('CorpSite');
    expect(task!.translations.get('CMS.Site', site.id)?.codeName).toBe('CorpSite');
    expect((task!.object as User).roles.isInitialized()).toBe(false);
  });

  it('Snapshot adds the children with their own translation records', async () => {
    const { roles } = await createUserWithRoles();
    await t.bus.processOutgoingTasks('Snapshot');
    const [task] = received('Snapshot');
    expect(task!.dataType).toBe(TaskDataType.Snapshot);
    const user = task!.object as User;
    expect(user.roles.isInitialized()).toBe(true);
    const bindings = user.roles.getItems();
    expect(bindings.map((b) => b.role.id)).toEqual(roles.map((r) => r.id));
    expect(bindings[0]).toBeInstanceOf(UserRole);
    const child = await snapshotConnector().translateColumnsToExternal(user, task!.translations, true);
    expect((child.roles as Record<string, unknown>[]).map((r) => r.role)).toEqual([null, null]); // no external ids known
  });

  it('records parent and group of referenced objects', async () => {
    const em = t.em();
    const poll = em.create(Poll, { codeName: 'lunch', question: 'Where?', groupId: 7 });
    const answer = em.create(PollAnswer, { codeName: 'pizza', text: 'Pizza', poll });
    await em.flush();
    em.create(Vote, { voter: 'joe', answer });
    await em.flush();
    await t.bus.processOutgoingTasks('SimpleSnapshot');
    const vote = received('SimpleSnapshot').find((task) => task.objectType === 'polls.vote')!;
    expect(vote.translations.records[0]).toMatchObject({
      property: 'answer',
      objectType: 'polls.pollanswer',
      codeName: 'pizza',
      parentType: 'polls.poll',
      parentId: poll.id,
    });
    await t.bus.processOutgoingTasks('ExternalPolls');
    // The answers, Snapshot children of the poll, carry a record of the poll with its group.
    const answers = t.app.get(ExternalPolls).children;
    expect(TranslationHelper.for(answers.at(-1)!).forProperty('poll')).toMatchObject({
      objectType: 'polls.poll',
      codeName: 'lunch',
      groupId: 7,
      id: poll.id,
    });
  });

  it('records documents referenced by documents, and carries document children in Snapshot mode', async () => {
    const em = t.em();
    const site = em.create(Site, { name: 'DocSite' });
    const home = em.create(Page, {
      className: 'cms.menuitem',
      aliasPath: '/Home',
      culture: 'en-US',
      nodeGuid: 'g-home',
      title: 'Home',
      site,
    });
    await em.flush();
    await t.sql(`delete from integration_task`);
    const news = em.create(Page, {
      className: 'cms.article',
      aliasPath: '/Home/News',
      culture: 'en-US',
      nodeGuid: 'g-news',
      title: 'News',
      site,
      parent: home,
    });
    em.create(PageTag, { tag: 'hot', page: news });
    em.create(PageTag, { tag: 'new', page: news });
    await em.flush();
    await t.bus.processOutgoingTasks();
    const simpleTask = received('SimpleSnapshot').find((task) => task.isDocument)!;
    const parent = simpleTask.translations.forProperty('parent')!;
    expect(parent).toMatchObject({
      isDocument: true,
      objectType: 'cms.menuitem',
      id: home.id,
      nodeGuid: 'g-home',
      culture: 'en-US',
      siteName: 'DocSite',
    });
    expect((simpleTask.object as Page).tags.isInitialized()).toBe(false);
    const snapshotTask = received('Snapshot').find((task) => task.isDocument)!;
    expect((snapshotTask.object as Page).tags.getItems().map((tag) => tag.tag)).toEqual(['hot', 'new']);
    const columns = await t.app
      .get(ExternalPolls)
      .translateColumnsToExternal(snapshotTask.object, snapshotTask.translations);
    expect(columns.parent).toBe('doc-g-home-en-US');
    expect(columns.site).toBe('site-DocSite');
  });
});

async function createPoll(codeName: string, answers: string[]): Promise<void> {
  const em = t.em();
  const poll = em.create(Poll, { codeName, question: `${codeName}?` });
  for (const a of answers) em.create(PollAnswer, { codeName: `${codeName}-${a}`, text: a, poll });
  await em.flush();
}

describe('translateColumnsToExternal (R-OUT-10)', () => {
  it('follows the recommended order: main object first, then the children with the new parent id', async () => {
    await createPoll('colour', ['red', 'blue']);
    await t.bus.processOutgoingTasks('ExternalPolls');
    const connector = t.app.get(ExternalPolls);
    const [main, full] = connector.steps.slice(-2);
    expect(main).not.toHaveProperty('answers');
    expect(main).toMatchObject({ codeName: 'colour', question: 'colour?' });
    expect(full!.answers).toHaveLength(2);
    const externalPollId = connector.polls.get('colour');
    expect(connector.answers.slice(-2).map((a) => [a.codeName, a.poll])).toEqual([
      ['colour-red', externalPollId],
      ['colour-blue', externalPollId],
    ]);
  });

  it('caches external ids per connector, clears them after each task unless the connector opts out', async () => {
    const external = t.app.get(ExternalPolls);
    const caching = t.app.get(CachingPolls);
    external.lookups.length = 0;
    caching.lookups.length = 0;
    await createPoll('cache1', ['a', 'b', 'c']);
    await t.bus.processOutgoingTasks('ExternalPolls');
    await t.bus.processOutgoingTasks('CachingPolls');
    // three answers point at the same poll: asked once, then served from the cache
    expect(external.lookups.filter((l) => l === 'polls.poll:cache1')).toHaveLength(1);
    await t.sql(`delete from integration_task`);
    const em = t.em();
    const poll = await em.findOneOrFail(Poll, { codeName: 'cache1' });
    poll.question = 'again?';
    await em.flush();
    await t.bus.processOutgoingTasks('ExternalPolls');
    await t.bus.processOutgoingTasks('CachingPolls');
    expect(external.lookups.filter((l) => l === 'polls.poll:cache1')).toHaveLength(2); // cleared after the task
    expect(caching.lookups.filter((l) => l === 'polls.poll:cache1')).toHaveLength(1); // kept
    caching.clearInternalTranslations();
    poll.question = 'third time?';
    await em.flush();
    await t.bus.processOutgoingTasks('CachingPolls');
    expect(caching.lookups.filter((l) => l === 'polls.poll:cache1')).toHaveLength(2); // asked again after the clear
  });

  it('a foreign key to an object that no longer exists fails the task with a clear message', async () => {
    const em = t.em();
    const user = em.create(User, { userName: 'dangling-dan', site: em.getReference(Site, 999_999) });
    await em.flush();
    expect(user.id).toBeGreaterThan(0);
    const counts = await t.bus.processOutgoingTasks('UserTranslator');
    expect(counts.ERROR).toBe(1);
    const [row] = await t.sql<{ error_message: string }>(
      `select l.error_message from integration_sync_log l
         join ${ALL_SYNCHRONIZATIONS_SQL} s on s.id = l.synchronization_id
         join integration_connector c on c.id = s.connector_id where c.code_name = 'UserTranslator'`,
    );
    expect(row!.error_message).toMatch(/User\.site points at cms\.site 999999, which no longer existed/);
  });
});

function snapshotConnector(): BaseIntegrationConnector {
  return t.app.get(ExternalPolls);
}
