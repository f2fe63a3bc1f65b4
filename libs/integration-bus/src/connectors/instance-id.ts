import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';

/**
 * This process among the instances sharing the database: `hostname:pid:random`, the random part so
 * that two apps in one process differ. It is the owner written on the leases
 * (`integration_connector.*lease_owner`, partition leases) and the sender of the NOTIFYs, which lets
 * the process's own listener ignore its own signals.
 *
 * Registered with a factory (`IntegrationBusModule`): the string is not a Nest token.
 */
export class InstanceId {
  constructor(readonly value: string = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`) {}
}
