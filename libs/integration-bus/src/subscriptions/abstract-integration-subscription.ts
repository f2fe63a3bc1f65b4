import { TaskProcessType } from '../enums/task-process-type.enum.js';
import { TaskType } from '../enums/task-type.enum.js';
import type { IntegrationSubject } from '../metadata/integration-subject.js';

/** Options every subscription shares. */
export interface SubscriptionOptions {
  /** How matching tasks reach the connector. Default: `AsyncSimple`. */
  processType?: TaskProcessType;
  /** Which task type matches; `All` (the default) matches every type. */
  taskType?: TaskType;
}

/**
 * The root of all subscriptions. Extend it (or one of its subclasses) and implement `isMatch` to
 * route changes to a connector by any rule you like.
 */
export abstract class AbstractIntegrationSubscription {
  readonly processType: TaskProcessType;
  readonly taskType: TaskType;

  protected constructor(options: SubscriptionOptions = {}) {
    this.processType = options.processType ?? TaskProcessType.AsyncSimple;
    this.taskType = options.taskType ?? TaskType.All;
    if (!Object.values(TaskProcessType).includes(this.processType)) {
      throw new TypeError(`Unknown processType "${String(this.processType)}".`);
    }
    if (!Object.values(TaskType).includes(this.taskType)) {
      throw new TypeError(`Unknown taskType "${String(this.taskType)}".`);
    }
  }

  /**
   * Decides whether a change concerns this subscription.
   * @returns the process type to use, or `null` when the subscription does not match
   */
  abstract isMatch(subject: IntegrationSubject, taskType: TaskType): TaskProcessType | null;

  /** The task type matches if equal, or if this subscription's is `All`. */
  protected matchesTaskType(taskType: TaskType): boolean {
    return this.taskType === TaskType.All || this.taskType === taskType;
  }
}
