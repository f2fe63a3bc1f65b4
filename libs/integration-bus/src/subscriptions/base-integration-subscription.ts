import { GLOBAL_OBJECTS } from '../integration-bus.constants.js';
import type { TaskProcessType } from '../enums/task-process-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';
import type { IntegrationSubject } from '../metadata/integration-subject.js';
import {
  AbstractIntegrationSubscription,
  type SubscriptionOptions,
} from './abstract-integration-subscription.js';
import { matchesWildcard } from './wildcard.js';

/** Options of a subscription filtered by site. */
export interface SiteSubscriptionOptions extends SubscriptionOptions {
  /** Site name filter (`%` wildcards); `GLOBAL_OBJECTS` matches only objects without a site. */
  siteName?: string | null;
}

/** Matches objects and documents by site and task type only. */
export class BaseIntegrationSubscription extends AbstractIntegrationSubscription {
  readonly siteName: string | null;

  constructor(options: SiteSubscriptionOptions = {}) {
    super(options);
    this.siteName = options.siteName ?? null;
  }

  isMatch(subject: IntegrationSubject, taskType: TaskType): TaskProcessType | null {
    return this.matchesTaskType(taskType) && this.matchesSite(subject) ? this.processType : null;
  }

  protected matchesSite(subject: IntegrationSubject): boolean {
    if (this.siteName === GLOBAL_OBJECTS) return subject.siteName === null;
    return matchesWildcard(this.siteName, subject.siteName);
  }
}
