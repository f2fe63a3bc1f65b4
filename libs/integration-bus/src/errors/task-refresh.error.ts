import { IntegrationBusError } from './integration-bus.error.js';

/**
 * A task that cannot be requeued with fresh data (`refresh: true`, R-RES-3): an incoming task, a
 * Simple one, a delete, a task logged for a plain object, or one whose object no longer exists.
 * The management API answers it with a 400 naming `refresh`. Nothing is changed.
 */
export class TaskRefreshError extends IntegrationBusError {
  readonly field = 'refresh';

  constructor(
    readonly taskId: number,
    readonly problem: string,
  ) {
    super(`refresh ${problem}`);
  }
}
