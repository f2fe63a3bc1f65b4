import { IntegrationBusError } from './integration-bus.error.js';

/** `IntegrationBusModule` options that cannot work; the message names the option. */
export class InvalidOptionsError extends IntegrationBusError {}
