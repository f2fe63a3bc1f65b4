import { IntegrationBusError } from './integration-bus.error.js';

/** Another instance holds the connector's processing lease (R-OUT-7); try again shortly. */
export class ConnectorBusyError extends IntegrationBusError {
  /**
   * @param connectorName the connector's code name
   * @param leaseEndsInMs when the holder's lease runs out unless it is renewed, in milliseconds
   */
  constructor(
    readonly connectorName: string,
    readonly leaseEndsInMs = 0,
  ) {
    super(`Connector "${connectorName}" is being processed by another instance; try again shortly.`);
  }
}
