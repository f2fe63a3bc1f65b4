import { IntegrationBusError } from './integration-bus.error.js';

/**
 * An incoming task that cannot be applied as asked, refused when it is logged (`processExternalTask`,
 * the HTTP ingest route: a 400 naming `field`) rather than left to block its connector's queue: a
 * task type that does not fit the entity (DELETEDOC for an object), AddToSite without a site,
 * PublishDocument for a document that declares no `published` property. Nothing is logged.
 */
export class InvalidExternalTaskError extends IntegrationBusError {
  /**
   * @param field the option (or request body field) at fault: `taskType`, `siteName`, …
   * @param problem what is wrong, worded to follow the field's name
   */
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}
