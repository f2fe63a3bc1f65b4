import { Injectable } from '@nestjs/common';
import { BusDatabase, isoTimestamp, sqlRows } from './bus-database.js';

/** Severity of an event-log entry. */
export type EventLogLevel = 'info' | 'warning' | 'error';

/** An entry of the event log (`integration_event_log`). */
export interface EventLogEntry {
  id: number;
  time: Date;
  level: EventLogLevel;
  source: string;
  eventCode: string;
  message: string;
  connectorName: string | null;
  taskId: number | null;
}

/** What a caller writes to the event log. */
export type NewEventLogEntry = Pick<EventLogEntry, 'level' | 'source' | 'eventCode' | 'message'> &
  Partial<Pick<EventLogEntry, 'connectorName' | 'taskId'>>;

type Raw = { id: string; taskId: string | null; time: string };

/** SQL over `integration_event_log`. */
@Injectable()
export class EventLogStore {
  constructor(private readonly db: BusDatabase) {}

  async write(entry: NewEventLogEntry): Promise<void> {
    await sqlRows(
      this.db.pool,
      `insert into integration_event_log (level, source, event_code, message, connector_name, task_id)
       values ($1, $2, $3, $4, $5, $6)`,
      [
        entry.level,
        entry.source,
        entry.eventCode,
        entry.message,
        entry.connectorName ?? null,
        entry.taskId ?? null,
      ],
    );
  }

  /** Newest first; `beforeId` pages backwards. */
  async list(limit = 50, beforeId?: number): Promise<EventLogEntry[]> {
    const rows = await sqlRows<Omit<EventLogEntry, 'id' | 'taskId' | 'time'> & Raw>(
      this.db.pool,
      `select id, ${isoTimestamp('time')} as time, level, source, event_code as "eventCode", message, connector_name as "connectorName",
              task_id as "taskId"
         from integration_event_log where ($1::bigint is null or id < $1) order by id desc limit $2`,
      [beforeId ?? null, limit],
    );
    return rows.map((r) => ({
      ...r,
      id: Number(r.id),
      time: new Date(r.time),
      taskId: r.taskId === null ? null : Number(r.taskId),
    }));
  }
}
