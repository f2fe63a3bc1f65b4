import type { TaskProcessType } from '../enums/task-process-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';
import type { IntegrationSubject } from '../metadata/integration-subject.js';
import {
  BaseIntegrationSubscription,
  type SiteSubscriptionOptions,
} from './base-integration-subscription.js';
import { matchesWildcard } from './wildcard.js';

/** Options of a document subscription; string filters accept `%` wildcards and ignore case. */
export interface DocumentSubscriptionOptions extends SiteSubscriptionOptions {
  /** Alias path filter, e.g. `/Home/%`. */
  aliasPath?: string | null;
  /** Culture filter, e.g. `en-%`. */
  culture?: string | null;
  /** Document type filter, e.g. `cms.menuitem`. */
  className?: string | null;
}

/** Matches integration documents (never objects) by alias path, culture, class, site and task type. */
export class DocumentIntegrationSubscription extends BaseIntegrationSubscription {
  readonly aliasPath: string | null;
  readonly culture: string | null;
  readonly className: string | null;

  constructor(options: DocumentSubscriptionOptions = {}) {
    super(options);
    this.aliasPath = options.aliasPath ?? null;
    this.culture = options.culture ?? null;
    this.className = options.className ?? null;
  }

  override isMatch(subject: IntegrationSubject, taskType: TaskType): TaskProcessType | null {
    if (!subject.isDocument) return null;
    if (!matchesWildcard(this.aliasPath, subject.aliasPath)) return null;
    if (!matchesWildcard(this.culture, subject.culture)) return null;
    if (!matchesWildcard(this.className, subject.className)) return null;
    return super.isMatch(subject, taskType);
  }
}
