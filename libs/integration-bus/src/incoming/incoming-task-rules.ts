import { TaskType } from '../enums/task-type.enum.js';
import { InvalidExternalTaskError } from '../errors/invalid-external-task.error.js';
import type { IntegrationDescriptor } from '../metadata/integration-subject.js';

/** Task types that apply to integration objects; every other one (but `ALL`) is for documents. */
const OBJECT_TASK_TYPES: ReadonlySet<TaskType> = new Set([
  TaskType.CreateObject,
  TaskType.UpdateObject,
  TaskType.DeleteObject,
  TaskType.AddToSite,
  TaskType.RemoveFromSite,
]);

/**
 * Checks, when an incoming task is logged, that processing can apply it to the entity the connector
 * prepared, so that a task that can never succeed is refused at once (a 400 naming the field)
 * instead of being accepted and then blocking its connector's queue, or doing something else than
 * asked (DELETEDOC deleting a user).
 * @param entityName the entity class, for messages
 * @param siteName the site the task carries (the option, else the object's own)
 * @throws InvalidExternalTaskError
 */
export function assertIncomingTaskFits(
  taskType: TaskType,
  descriptor: IntegrationDescriptor,
  entityName: string,
  siteName: string | null,
): void {
  const forObjects = OBJECT_TASK_TYPES.has(taskType);
  if (forObjects === descriptor.isDocument) {
    const allowed = Object.values(TaskType).filter(
      (t) =>
        t !== TaskType.All &&
        t !== TaskType.RejectDocument &&
        OBJECT_TASK_TYPES.has(t) !== descriptor.isDocument,
    );
    throw new InvalidExternalTaskError(
      'taskType',
      `${taskType} does not fit ${entityName}, which is an integration ${descriptor.isDocument ? 'document' : 'object'}: ` +
        `use one of ${allowed.join(', ')}.`,
    );
  }
  switch (taskType) {
    case TaskType.AddToSite:
    case TaskType.RemoveFromSite:
      if (!descriptor.options.site?.includes('.')) {
        throw new InvalidExternalTaskError(
          'taskType',
          `${taskType} needs a site relation, and ${entityName} declares none: ` +
            "declare it as site: 'relation.name' in @IntegrationObject.",
        );
      }
      if (taskType === TaskType.AddToSite && !siteName) {
        throw new InvalidExternalTaskError(
          'siteName',
          `is required for ${taskType}: name the site the object is added to.`,
        );
      }
      return;
    case TaskType.PublishDocument:
    case TaskType.ArchiveDocument: {
      const flag = taskType === TaskType.PublishDocument ? 'published' : 'archived';
      if (!descriptor.isDocument || !descriptor.options[flag]) {
        throw new InvalidExternalTaskError(
          'taskType',
          `${taskType} needs a boolean property to set, and ${entityName} declares none: ` +
            `declare it as ${flag}: '<property>' in @IntegrationDocument.`,
        );
      }
      return;
    }
    case TaskType.RejectDocument:
      // The original rejects a workflow step; the bus knows no workflow, so it has nothing to apply.
      throw new InvalidExternalTaskError(
        'taskType',
        `${taskType} cannot be applied by the bus (it has no workflow to send a document back in): ` +
          'send UPDATEDOC or ARCHIVEDOC with the state you want.',
      );
    default:
      return;
  }
}
