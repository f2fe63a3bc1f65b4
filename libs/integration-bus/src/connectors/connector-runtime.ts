import type { AbstractIntegrationSubscription } from '../subscriptions/abstract-integration-subscription.js';

/** A subscription of a connector and, for method-level ones, the method that receives its tasks. */
export interface RegisteredSubscription {
  subscription: AbstractIntegrationSubscription;
  handler?: string;
}

/** Per-instance state the bus keeps for a connector, out of the user's class. */
export interface ConnectorRuntime {
  codeName: string;
  subscriptions: RegisteredSubscription[];
  translationCache: Map<string, unknown>;
  /** Where `requestTasksProcessing` sends its request: the API prefix and the notify token. */
  notify: { path: string; token?: string };
}

const runtimes = new WeakMap<object, ConnectorRuntime>();

/** The runtime state of a connector instance; created on first use. */
export function connectorRuntime(connector: object): ConnectorRuntime {
  let runtime = runtimes.get(connector);
  if (!runtime) {
    runtime = {
      codeName: '',
      subscriptions: [],
      translationCache: new Map(),
      notify: { path: 'integration' },
    };
    runtimes.set(connector, runtime);
  }
  return runtime;
}
