import { TaskType } from 'nestjs-integration-bus';

/**
 * Event-log codes of the changes the sample connectors report, as the original sample wrote them
 * (CREATEOBJECT, UPDATEDOCUMENT, …). Other task types have no code: the sample reports only
 * creations, modifications and deletions.
 */
export const EVENT_CODES: Partial<Record<TaskType, string>> = {
  [TaskType.CreateObject]: 'CREATEOBJECT',
  [TaskType.UpdateObject]: 'UPDATEOBJECT',
  [TaskType.DeleteObject]: 'DELETEOBJECT',
  [TaskType.CreateDocument]: 'CREATEDOCUMENT',
  [TaskType.UpdateDocument]: 'UPDATEDOCUMENT',
  [TaskType.DeleteDocument]: 'DELETEDOCUMENT',
};

/** Past tense of each reported task type, for messages. */
export const VERBS: Partial<Record<TaskType, string>> = {
  [TaskType.CreateObject]: 'created',
  [TaskType.UpdateObject]: 'updated',
  [TaskType.DeleteObject]: 'deleted',
  [TaskType.CreateDocument]: 'created',
  [TaskType.UpdateDocument]: 'updated',
  [TaskType.DeleteDocument]: 'deleted',
};
