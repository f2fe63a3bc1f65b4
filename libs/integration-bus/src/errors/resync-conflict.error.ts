import { IntegrationBusError } from './integration-bus.error.js';

/** A resync of this connector and object type is already running (R-RES-1): one at a time. */
export class ResyncConflictError extends IntegrationBusError {
  constructor(
    readonly connectorName: string,
    readonly objectType: string,
  ) {
    super(
      `A resync of ${objectType} for connector "${connectorName}" is already running; ` +
        'wait for it to finish or cancel it first.',
    );
  }
}
