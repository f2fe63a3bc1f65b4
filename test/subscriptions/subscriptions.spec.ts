import { describe, expect, it } from 'vitest';
import {
  AbstractIntegrationSubscription,
  BaseIntegrationSubscription,
  DocumentIntegrationSubscription,
  GLOBAL_OBJECTS,
  ObjectIntegrationSubscription,
  TaskProcessType,
  TaskType,
  type IntegrationSubject,
} from 'nestjs-integration-bus';

function object(objectType: string, codeName: string, siteName: string | null = null): IntegrationSubject {
  return {
    isDocument: false,
    objectType,
    codeName,
    siteName,
    aliasPath: null,
    culture: null,
    className: null,
    nodeGuid: null,
    entity: {},
  };
}

function page(
  aliasPath: string,
  culture: string,
  className: string,
  siteName = 'CorpSite',
): IntegrationSubject {
  return {
    isDocument: true,
    objectType: className,
    codeName: aliasPath,
    siteName,
    aliasPath,
    culture,
    className,
    nodeGuid: 'g',
    entity: {},
  };
}

describe('subscription matching (R-OUT-2)', () => {
  it('treats % as any run of 0..n characters and ignores case', () => {
    const sub = new ObjectIntegrationSubscription({
      objectType: 'poll.poll%',
      processType: TaskProcessType.AsyncSnapshot,
    });
    expect(sub.isMatch(object('poll.poll', 'a'), TaskType.CreateObject)).toBe(TaskProcessType.AsyncSnapshot);
    expect(sub.isMatch(object('poll.pollanswer', 'a'), TaskType.CreateObject)).toBe(
      TaskProcessType.AsyncSnapshot,
    );
    expect(sub.isMatch(object('POLL.PollAnswer', 'a'), TaskType.CreateObject)).toBe(
      TaskProcessType.AsyncSnapshot,
    );
    expect(sub.isMatch(object('xpoll.poll', 'a'), TaskType.CreateObject)).toBeNull();
    expect(sub.isMatch(object('poll.pol', 'a'), TaskType.CreateObject)).toBeNull();
  });

  it('gives every other character its literal meaning, regex characters included', () => {
    const sub = new ObjectIntegrationSubscription({ objectType: 'cms.user', objectCodeName: 'a.b+(c)' });
    expect(sub.isMatch(object('cms.user', 'a.b+(c)'), TaskType.UpdateObject)).not.toBeNull();
    expect(sub.isMatch(object('cmsXuser', 'a.b+(c)'), TaskType.UpdateObject)).toBeNull();
    expect(sub.isMatch(object('cms.user', 'aXbb(c)'), TaskType.UpdateObject)).toBeNull();
    const underscore = new ObjectIntegrationSubscription({ objectType: 'cms_user' });
    expect(underscore.isMatch(object('cmsXuser', 'x'), TaskType.UpdateObject)).toBeNull();
    const star = new ObjectIntegrationSubscription({ objectCodeName: 'a*' });
    expect(star.isMatch(object('cms.user', 'aaa'), TaskType.UpdateObject)).toBeNull();
    expect(star.isMatch(object('cms.user', 'a*'), TaskType.UpdateObject)).not.toBeNull();
  });

  it('lets a null filter match anything and matches the task type exactly unless All', () => {
    const any = new ObjectIntegrationSubscription();
    expect(any.isMatch(object('whatever.type', 'x', 'Site'), TaskType.DeleteObject)).toBe(
      TaskProcessType.AsyncSimple,
    );
    const createOnly = new ObjectIntegrationSubscription({ taskType: TaskType.CreateObject });
    expect(createOnly.isMatch(object('a', 'b'), TaskType.CreateObject)).not.toBeNull();
    expect(createOnly.isMatch(object('a', 'b'), TaskType.UpdateObject)).toBeNull();
  });

  it('matches GLOBAL_OBJECTS only for objects without a site', () => {
    const global = new ObjectIntegrationSubscription({ siteName: GLOBAL_OBJECTS });
    expect(global.isMatch(object('cms.user', 'a', null), TaskType.UpdateObject)).not.toBeNull();
    expect(global.isMatch(object('cms.user', 'a', 'CorpSite'), TaskType.UpdateObject)).toBeNull();
    const site = new ObjectIntegrationSubscription({ siteName: 'corp%' });
    expect(site.isMatch(object('cms.user', 'a', 'CorpSite'), TaskType.UpdateObject)).not.toBeNull();
    expect(site.isMatch(object('cms.user', 'a', null), TaskType.UpdateObject)).toBeNull();
  });

  it('never matches documents with object subscriptions, nor objects with document ones', () => {
    const objects = new ObjectIntegrationSubscription();
    const documents = new DocumentIntegrationSubscription();
    expect(objects.isMatch(page('/Home', 'en-US', 'cms.menuitem'), TaskType.UpdateDocument)).toBeNull();
    expect(documents.isMatch(object('cms.user', 'a'), TaskType.UpdateObject)).toBeNull();
    expect(documents.isMatch(page('/Home', 'en-US', 'cms.menuitem'), TaskType.UpdateDocument)).not.toBeNull();
  });

  it('filters documents by alias path, culture and class name', () => {
    const sub = new DocumentIntegrationSubscription({
      aliasPath: '/Home/%',
      culture: 'en-%',
      className: 'CMS.MenuItem',
    });
    expect(sub.isMatch(page('/Home/News', 'en-GB', 'cms.menuitem'), TaskType.UpdateDocument)).not.toBeNull();
    expect(sub.isMatch(page('/Home', 'en-GB', 'cms.menuitem'), TaskType.UpdateDocument)).toBeNull();
    expect(sub.isMatch(page('/Home/News', 'cs-CZ', 'cms.menuitem'), TaskType.UpdateDocument)).toBeNull();
    expect(sub.isMatch(page('/Home/News', 'en-GB', 'cms.article'), TaskType.UpdateDocument)).toBeNull();
  });

  it('matches objects and documents alike with the base subscription (site + task type)', () => {
    const sub = new BaseIntegrationSubscription({ siteName: 'CorpSite', taskType: TaskType.All });
    expect(sub.isMatch(object('cms.user', 'a', 'CorpSite'), TaskType.UpdateObject)).not.toBeNull();
    expect(sub.isMatch(page('/Home', 'en-US', 'x', 'CorpSite'), TaskType.PublishDocument)).not.toBeNull();
    expect(sub.isMatch(page('/Home', 'en-US', 'x', 'Other'), TaskType.PublishDocument)).toBeNull();
  });

  it('lets a custom subscription decide through isMatch', () => {
    class VipUsers extends AbstractIntegrationSubscription {
      constructor() {
        super({ processType: TaskProcessType.AsyncSnapshot });
      }
      isMatch(subject: IntegrationSubject, taskType: TaskType): TaskProcessType | null {
        return subject.objectType === 'cms.user' &&
          subject.codeName?.startsWith('vip') &&
          this.matchesTaskType(taskType)
          ? this.processType
          : null;
      }
    }
    const sub = new VipUsers();
    expect(sub.isMatch(object('cms.user', 'vip-anna'), TaskType.UpdateObject)).toBe(
      TaskProcessType.AsyncSnapshot,
    );
    expect(sub.isMatch(object('cms.user', 'bob'), TaskType.UpdateObject)).toBeNull();
  });

  it('rejects unknown process and task types when the subscription is built', () => {
    expect(() => new ObjectIntegrationSubscription({ processType: 'FAST' as TaskProcessType })).toThrow(
      /processType/,
    );
    expect(() => new ObjectIntegrationSubscription({ taskType: 'NOPE' as TaskType })).toThrow(/taskType/);
  });
});
