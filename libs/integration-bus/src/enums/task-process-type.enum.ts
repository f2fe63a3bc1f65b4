import { TaskDataType } from './task-data-type.enum.js';

/**
 * How a connector receives the tasks of a subscription: synchronously after commit, or through the
 * queue with a given amount of data. Declared in priority order, highest first.
 */
export enum TaskProcessType {
  SyncSnapshot = 'SYNCSNAPSHOT',
  AsyncSnapshot = 'ASYNCSNAPSHOT',
  AsyncSimpleSnapshot = 'ASYNCSIMPLESNAPSHOT',
  AsyncSimple = 'ASYNCSIMPLE',
}

const PRIORITY: Readonly<Record<TaskProcessType, number>> = {
  [TaskProcessType.SyncSnapshot]: 4,
  [TaskProcessType.AsyncSnapshot]: 3,
  [TaskProcessType.AsyncSimpleSnapshot]: 2,
  [TaskProcessType.AsyncSimple]: 1,
};

const DATA_TYPE: Readonly<Record<TaskProcessType, TaskDataType>> = {
  [TaskProcessType.SyncSnapshot]: TaskDataType.Snapshot,
  [TaskProcessType.AsyncSnapshot]: TaskDataType.Snapshot,
  [TaskProcessType.AsyncSimpleSnapshot]: TaskDataType.SimpleSnapshot,
  [TaskProcessType.AsyncSimple]: TaskDataType.Simple,
};

/** Rank of a process type: a connector with several matching subscriptions keeps the highest (R-OUT-3). */
export function processTypePriority(processType: TaskProcessType): number {
  return PRIORITY[processType];
}

/** The data type a process type carries (SPEC §3.1). */
export function dataTypeOf(processType: TaskProcessType): TaskDataType {
  return DATA_TYPE[processType];
}

/** Whether tasks of this process type go through the queue. */
export function isAsyncProcessType(processType: TaskProcessType): boolean {
  return processType !== TaskProcessType.SyncSnapshot;
}
