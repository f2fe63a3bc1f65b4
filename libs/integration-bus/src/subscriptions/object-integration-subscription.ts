import type { TaskProcessType } from '../enums/task-process-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';
import { getIntegrationDescriptor, type IntegrationSubject } from '../metadata/integration-subject.js';
import {
  BaseIntegrationSubscription,
  type SiteSubscriptionOptions,
} from './base-integration-subscription.js';
import { matchesWildcard } from './wildcard.js';

/** Options of an object subscription; string filters accept `%` wildcards and ignore case. */
export interface ObjectSubscriptionOptions extends SiteSubscriptionOptions {
  objectType?: string | null;
  /**
   * The entity class whose changes to match, instead of `objectType`: its `@IntegrationObject`
   * type is used. Pair it with a method handler typed `OutgoingTask<ThatEntity>`.
   */
  entity?: abstract new (...args: never[]) => object;
  objectCodeName?: string | null;
}

/** Matches integration objects (never documents) by type, code name, site and task type. */
export class ObjectIntegrationSubscription extends BaseIntegrationSubscription {
  readonly objectType: string | null;
  readonly objectCodeName: string | null;

  constructor(options: ObjectSubscriptionOptions = {}) {
    super(options);
    this.objectType = options.entity
      ? objectTypeOf(options.entity, options.objectType)
      : (options.objectType ?? null);
    this.objectCodeName = options.objectCodeName ?? null;
  }

  override isMatch(subject: IntegrationSubject, taskType: TaskType): TaskProcessType | null {
    if (subject.isDocument) return null;
    if (!matchesWildcard(this.objectType, subject.objectType)) return null;
    if (!matchesWildcard(this.objectCodeName, subject.codeName)) return null;
    return super.isMatch(subject, taskType);
  }
}

/** The object type of an `@IntegrationObject` class, checked against an `objectType` given beside it. */
function objectTypeOf(
  entity: abstract new (...args: never[]) => object,
  objectType: string | null | undefined,
): string {
  const descriptor = getIntegrationDescriptor(entity);
  if (descriptor?.isDocument !== false) {
    throw new TypeError(
      `A subscription's entity must be a class marked with @IntegrationObject(); ${entity.name || 'the class given'} is not.`,
    );
  }
  const type = descriptor.options.objectType;
  if (objectType && objectType.toLowerCase() !== type) {
    throw new TypeError(
      `A subscription gives both entity ${entity.name} (${type}) and objectType '${objectType}'.`,
    );
  }
  return type;
}
