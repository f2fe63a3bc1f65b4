import { IntegrationBusError } from './integration-bus.error.js';

/** No queued task has this id (or none for the given connector). */
export class TaskNotFoundError extends IntegrationBusError {
  constructor(
    readonly taskId: number,
    readonly connectorName?: string,
  ) {
    super(
      connectorName
        ? `Task ${taskId} is not queued for connector "${connectorName}".`
        : `Task ${taskId} is not queued.`,
    );
  }
}
