import { IntegrationEvents } from '../events/integration-events.js';
import type { IntegrationTaskEvent } from '../events/integration-task-event.js';
import { emitterOf, type BusTarget } from './bus-target.js';
import type { DeliveredTask } from './delivered-task.js';

/** A running recording of the bus's processing, from its After events. */
export interface DeliveryRecording {
  /** What was delivered so far, in order. */
  readonly deliveries: DeliveredTask[];
  /** Stops listening. */
  stop(): void;
}

/**
 * Records every task the bus hands to a connector (outgoing) or applies for one (incoming), with
 * the result, until `stop()`. Needs `EventEmitterModule` in the app.
 */
export function recordDeliveries(app: BusTarget): DeliveryRecording {
  const emitter = emitterOf(app);
  const deliveries: DeliveredTask[] = [];
  const listener = (event: IntegrationTaskEvent): void => {
    if (event.result === undefined || event.connectorName === undefined) return;
    deliveries.push({
      connectorName: event.connectorName,
      task: { ...event.task },
      object: event.object,
      result: event.result,
      errorMessage: event.errorMessage ?? null,
      ...(event.batch ? { batch: { ...event.batch } } : {}),
    });
  };
  const names = [IntegrationEvents.ProcessInternalTask.After, IntegrationEvents.ProcessExternalTask.After];
  for (const name of names) emitter.on(name, listener);
  return {
    deliveries,
    stop: () => {
      for (const name of names) emitter.off(name, listener);
    },
  };
}
