import { IntegrationBusError } from './integration-bus.error.js';

/**
 * A run lost its processing lease (its renewal was refused, or this process was paused past the
 * lease): it stops and writes nothing, since another instance may already be processing (R-DEL-2).
 */
export class ClaimLostError extends IntegrationBusError {
  constructor(
    readonly connectorName: string,
    reason: string,
  ) {
    super(`The processing lease of connector "${connectorName}" was lost (${reason}); the run stopped.`);
  }
}
