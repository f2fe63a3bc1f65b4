/**
 * Event codes of the entries the bus itself writes to its event log (`integration_event_log`), so
 * an operator can find what happened, and who asked for it, after the fact (issue 11, item 11).
 * Synchronous-processing failures use `SYNC<result>` (`SYNCERROR`, `SYNCERRORANDSKIP`).
 */
export const BusEventCodes = {
  /** A switch of the five settings changed (`updateSettings`, API, admin page). */
  SettingsChanged: 'SETTINGSCHANGED',
  /** A connector row was registered through the API or admin page. */
  ConnectorCreated: 'CONNECTORCREATED',
  /** A connector was enabled, disabled or renamed. */
  ConnectorUpdated: 'CONNECTORUPDATED',
  /** A connector row was deleted with its queue. */
  ConnectorDeleted: 'CONNECTORDELETED',
  /** A bulk synchronization (selected tasks or a whole list) ran. */
  BulkSynchronize: 'BULKSYNCHRONIZE',
  /** A bulk deletion (selected tasks or a whole list) ran. */
  BulkDelete: 'BULKDELETE',
  /** Parked tasks (selected, or every one of a list) were made waiting again. */
  BulkRequeue: 'BULKREQUEUE',
  /**
   * A queued task of a connector with `coalesce: 'latest'` was superseded by a later change of the
   * same object and deleted undelivered (R-EXT-3); the message names the later task.
   */
  TaskSuperseded: 'TASKSUPERSEDED',
  /** A task failed `retry.maxAttempts` times and was parked (R-DEL-6). */
  TaskParked: 'TASKPARKED',
  /**
   * Retention removed parked synchronizations older than `retention.parkedDays` (R-OPS-1), and the
   * tasks no connector was left queued for: one entry per pass.
   */
  ParkedPruned: 'PARKEDPRUNED',
  /** An incoming DeleteOnError task failed and was deleted with its sync log. */
  DeletedOnError: 'DELETEONERROR',
  /**
   * A broker consumer received a message it can never turn into a task (not JSON, not the
   * expected shape, refused by the connector): logged here and acknowledged, not redelivered.
   */
  PoisonMessage: 'POISONMESSAGE',
  /** A resync of an object type for a connector started (R-RES-1). */
  ResyncStarted: 'RESYNCSTARTED',
  /** A resync logged a task for every row and finished. */
  ResyncFinished: 'RESYNCFINISHED',
  /** A resync was cancelled. */
  ResyncCancelled: 'RESYNCCANCELLED',
  /** A resync stopped on an error it could not get past. */
  ResyncFailed: 'RESYNCFAILED',
} as const;

/** One of `BusEventCodes`. */
export type BusEventCode = (typeof BusEventCodes)[keyof typeof BusEventCodes];

/** The `source` of the entries the bus writes about itself (connectors' entries name the connector). */
export const BUS_EVENT_SOURCE = 'IntegrationBus';
