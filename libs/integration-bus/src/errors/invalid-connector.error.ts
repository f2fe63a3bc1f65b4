import { IntegrationBusError } from './integration-bus.error.js';

/** A connector declaration that cannot work: raised at start-up, not at the first task. */
export class InvalidConnectorError extends IntegrationBusError {}
