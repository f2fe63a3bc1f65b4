import { IntegrationBusError } from './integration-bus.error.js';

/**
 * A broker relay or consumer was used without the client package it needs. The broker clients are
 * optional peer dependencies: only the hosts that use a broker install its client.
 */
export class MissingPeerDependencyError extends IntegrationBusError {
  /**
   * @param packageName the npm package to install
   * @param usedBy what needs it (`NatsJetStreamRelayConnector`, …)
   */
  constructor(
    readonly packageName: string,
    usedBy: string,
    options?: ErrorOptions,
  ) {
    super(`${usedBy} needs the npm package "${packageName}": npm install ${packageName}`, options);
  }
}
