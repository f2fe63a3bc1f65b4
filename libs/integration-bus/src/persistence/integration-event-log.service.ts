import { Injectable } from '@nestjs/common';
import { EventLogStore, type EventLogEntry, type NewEventLogEntry } from './event-log.store.js';

/**
 * The bus's event log (`integration_event_log`): the bus writes synchronous-processing failures to
 * it, connectors may write what they did, and the admin page shows it.
 */
@Injectable()
export class IntegrationEventLog {
  constructor(private readonly store: EventLogStore) {}

  /** Appends an entry. */
  write(entry: NewEventLogEntry): Promise<void> {
    return this.store.write(entry);
  }

  /** Entries newest first; pass the last id seen as `beforeId` for the next page. */
  list(options: { limit?: number; beforeId?: number } = {}): Promise<EventLogEntry[]> {
    return this.store.list(options.limit ?? 50, options.beforeId);
  }
}
