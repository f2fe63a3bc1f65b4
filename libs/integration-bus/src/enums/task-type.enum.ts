/** What happened to an object or document. The string is what is stored and what the API returns. */
export enum TaskType {
  CreateObject = 'CREATEOBJ',
  UpdateObject = 'UPDATEOBJ',
  DeleteObject = 'DELETEOBJ',
  AddToSite = 'ADDTOSITE',
  RemoveFromSite = 'REMOVEFROMSITE',
  CreateDocument = 'CREATEDOC',
  UpdateDocument = 'UPDATEDOC',
  DeleteDocument = 'DELETEDOC',
  DeleteAllCultures = 'DELETEALLCULTURES',
  PublishDocument = 'PUBLISHDOC',
  ArchiveDocument = 'ARCHIVEDOC',
  MoveDocument = 'MOVEDOC',
  RejectDocument = 'REJECTDOC',
  /** Subscriptions only: matches every task type. */
  All = 'ALL',
}

const DOCUMENT_TASK_TYPES: ReadonlySet<TaskType> = new Set([
  TaskType.CreateDocument,
  TaskType.UpdateDocument,
  TaskType.DeleteDocument,
  TaskType.DeleteAllCultures,
  TaskType.PublishDocument,
  TaskType.ArchiveDocument,
  TaskType.MoveDocument,
  TaskType.RejectDocument,
]);

/** Whether a task type applies to documents (the others apply to objects). */
export function isDocumentTaskType(taskType: TaskType): boolean {
  return DOCUMENT_TASK_TYPES.has(taskType);
}
