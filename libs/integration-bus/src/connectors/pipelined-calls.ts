import type { BaseIntegrationConnector } from './base-integration-connector.js';

/** The batch connectors whose calls the drain may overlap. */
const pipelined = new WeakSet<BaseIntegrationConnector>();

/**
 * Lets the drain start a batch connector's next call before the outcomes of the one in flight are
 * known: at most two calls at once, the second holding no object of the first (see `OutgoingDrain`).
 * Only for connectors whose calls write in the order they start and answer each task only once it is
 * delivered, so that a later call's OK can be trusted whatever the earlier call answers: the broker
 * relays, which publish on one connection and count a message only once the broker confirms it.
 */
export function allowPipelinedCalls(connector: BaseIntegrationConnector): void {
  pipelined.add(connector);
}

/** Whether `allowPipelinedCalls` was called for the connector. */
export function pipelinesCalls(connector: BaseIntegrationConnector): boolean {
  return pipelined.has(connector);
}
