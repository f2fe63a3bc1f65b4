import { IntegrationBusError } from './integration-bus.error.js';

/**
 * A resync that cannot start as asked (R-RES-1): an object type that is no integration object or
 * document, or that the connector does not subscribe to; a `where` filter that is not a structured
 * filter over the entity's properties; a chunk size out of range. The management API answers it
 * with a 400 naming `field`. Nothing is written.
 */
export class InvalidResyncError extends IntegrationBusError {
  /**
   * @param field the option (or request body field) at fault: `objectType`, `where`, `chunkSize`
   * @param problem what is wrong, worded to follow the field's name
   */
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}
