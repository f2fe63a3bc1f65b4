import { IntegrationBusError } from './integration-bus.error.js';

/** No loaded connector has this code name. */
export class ConnectorNotFoundError extends IntegrationBusError {
  constructor(readonly connectorName: string) {
    super(
      `No connector named "${connectorName}" is loaded. Check the @Connector() code name and that its provider is registered.`,
    );
  }
}
