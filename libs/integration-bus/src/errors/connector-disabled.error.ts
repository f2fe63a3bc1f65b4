import { IntegrationBusError } from './integration-bus.error.js';

/** The connector exists but is disabled: it logs and processes nothing (R-SET-2). */
export class ConnectorDisabledError extends IntegrationBusError {
  constructor(readonly connectorName: string) {
    super(`Connector "${connectorName}" is disabled; enable it to log or process its tasks.`);
  }
}
