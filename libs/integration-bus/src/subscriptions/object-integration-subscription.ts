import type { TaskProcessType } from '../enums/task-process-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';
import type { IntegrationSubject } from '../metadata/integration-subject.js';
import {
  BaseIntegrationSubscription,
  type SiteSubscriptionOptions,
} from './base-integration-subscription.js';
import { matchesWildcard } from './wildcard.js';

/** Options of an object subscription; string filters accept `%` wildcards and ignore case. */
export interface ObjectSubscriptionOptions extends SiteSubscriptionOptions {
  objectType?: string | null;
  objectCodeName?: string | null;
}

/** Matches integration objects (never documents) by type, code name, site and task type. */
export class ObjectIntegrationSubscription extends BaseIntegrationSubscription {
  readonly objectType: string | null;
  readonly objectCodeName: string | null;

  constructor(options: ObjectSubscriptionOptions = {}) {
    super(options);
    this.objectType = options.objectType ?? null;
    this.objectCodeName = options.objectCodeName ?? null;
  }

  override isMatch(subject: IntegrationSubject, taskType: TaskType): TaskProcessType | null {
    if (subject.isDocument) return null;
    if (!matchesWildcard(this.objectType, subject.objectType)) return null;
    if (!matchesWildcard(this.objectCodeName, subject.codeName)) return null;
    return super.isMatch(subject, taskType);
  }
}
