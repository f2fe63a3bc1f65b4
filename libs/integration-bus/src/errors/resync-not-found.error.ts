import { IntegrationBusError } from './integration-bus.error.js';

/** No running resync of this object type for this connector (or no resync with this id). */
export class ResyncNotFoundError extends IntegrationBusError {
  constructor(
    readonly connectorName: string,
    readonly objectType: string | null,
  ) {
    super(
      objectType === null
        ? `No resync found for connector "${connectorName}".`
        : `No resync of ${objectType} is running for connector "${connectorName}".`,
    );
  }
}
