import type { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type { TaskDataType } from '../enums/task-data-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';

/** A task as events describe it. Before a task is logged, `id` is `0`. */
export interface IntegrationTaskInfo {
  id: number;
  guid: string;
  /** May be changed by a Before handler. */
  title: string;
  taskType: TaskType;
  objectType: string;
  objectId: string | null;
  /** May be changed by a Before handler. */
  siteName: string | null;
  dataType: TaskDataType;
  /** Outgoing: a `TaskProcessType`; incoming: an `IntegrationProcessType`. */
  processType: string;
  isInbound: boolean;
  /** Connectors the task is logged for. */
  connectorNames: string[];
}

/** Where a task stood in a batch connector's call (R-EXT-1). */
export interface BatchPosition {
  /** 0 for the first task of the call. */
  index: number;
  /** Tasks in the call. */
  size: number;
}

/** Payload of every integration event. */
export class IntegrationTaskEvent<T = unknown> {
  #cancelled = false;

  constructor(
    readonly task: IntegrationTaskInfo,
    readonly object: T,
    readonly connectorName?: string,
    /** Set on ProcessInternalTask.After / ProcessExternalTask.After. */
    readonly result?: IntegrationProcessResult,
    readonly errorMessage?: string,
    /** On ProcessInternalTask.After of a batch connector: the task's place in the call. */
    readonly batch?: BatchPosition,
  ) {}

  /** Before events: nothing is logged, or the task is skipped this run. Ignored on After events. */
  cancel(): void {
    this.#cancelled = true;
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }
}
