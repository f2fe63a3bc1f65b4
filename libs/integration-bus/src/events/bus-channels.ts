import { channel, type Channel } from 'node:diagnostics_channel';
import type { IntegrationEventName } from './integration-events.js';

/**
 * The bus's events on `node:diagnostics_channel` (R-ECO-4), one channel per event name of
 * `IntegrationEvents` (`integration.processInternalTask.after`, …), for APMs and tools that
 * observe without Nest's event emitter. A channel carries the same `IntegrationTaskEvent` the
 * emitter does, published only while someone subscribes; subscribers observe, they cannot cancel.
 * Kept here so the channels outlive a subscriber's weak reference.
 */
const channels = new Map<IntegrationEventName, Channel>();

/** The diagnostics channel of an event. */
export function busChannel(name: IntegrationEventName): Channel {
  let found = channels.get(name);
  if (!found) {
    found = channel(name);
    channels.set(name, found);
  }
  return found;
}
