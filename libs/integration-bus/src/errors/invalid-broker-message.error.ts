import { IntegrationBusError } from './integration-bus.error.js';

/**
 * A broker message a consumer cannot turn into an incoming task: its body is not JSON or not the
 * expected shape. Such a message is a poison message: it is written to the event log and
 * acknowledged, since delivering it again would fail again.
 */
export class InvalidBrokerMessageError extends IntegrationBusError {}
