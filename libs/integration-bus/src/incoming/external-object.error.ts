import { IntegrationBusError } from '../errors/integration-bus.error.js';

/**
 * Thrown by a connector's `prepareInternalObject` to reject an external object it cannot turn into
 * a local entity: a missing code name, a value of the wrong type, an id it does not know. Nothing
 * is logged. The HTTP ingest endpoint (`POST /{path}/connectors/:codeName/incoming`) answers it
 * with a 400 whose `field` is `object.<field>` (or `object` when no field is named), like any other
 * bad input (R-SEC-3); any other exception of the connector is a server error (500).
 *
 * @example
 * if (typeof person.login !== 'string') throw new ExternalObjectError('login', 'is required.');
 */
export class ExternalObjectError extends IntegrationBusError {
  /**
   * @param field the path of the offending field inside the external object (`login`,
   *   `addresses[0].city`), or `null` when the object as a whole is rejected
   * @param problem what is wrong, worded to follow the field's name (`must be a string.`)
   */
  constructor(
    readonly field: string | null,
    readonly problem: string,
  ) {
    super(field === null ? `The external object ${problem}` : `External object field ${field} ${problem}`);
  }
}
