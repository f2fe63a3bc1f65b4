import { IntegrationBusError } from './integration-bus.error.js';

/** Another instance holds the connector's processing lease (R-OUT-7); try again shortly. */
export class ConnectorBusyError extends IntegrationBusError {
  constructor(readonly connectorName: string) {
    super(`Connector "${connectorName}" is being processed by another instance; try again shortly.`);
  }
}
