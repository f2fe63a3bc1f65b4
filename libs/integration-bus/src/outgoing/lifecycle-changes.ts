import type { ChangeSet } from '@mikro-orm/core';
import { TaskType } from '../enums/task-type.enum.js';
import type { IntegrationDescriptor, IntegrationSubject } from '../metadata/integration-subject.js';
import type { EntityRowReader } from '../translation/entity-row-reader.js';
import { readSiteName } from '../translation/site-name-reader.js';

/** One task an update stands for: its type, and the subject as that task sees it. */
export interface LifecycleChange {
  subject: IntegrationSubject;
  taskType: TaskType;
}

/**
 * The tasks an update of an integration entity stands for (issue 11, item 16), read from what the
 * entity declares:
 * - an object whose site relation (`site: 'site.name'`) changes: RemoveFromSite (with the old
 *   site) and AddToSite (with the new one), for whichever of the two is a site;
 * - a document whose `aliasPath` or `parent` changes: MoveDocument;
 * - a document whose declared `published` / `archived` property turns true: PublishDocument /
 *   ArchiveDocument.
 * UpdateObject / UpdateDocument is always logged too, first. Other task types are for
 * `IntegrationBus.logInternalTask`.
 */
export async function lifecycleChanges(
  changeSet: ChangeSet<object>,
  descriptor: IntegrationDescriptor,
  subject: IntegrationSubject,
  reader: EntityRowReader,
): Promise<LifecycleChange[]> {
  const changed = Object.keys(changeSet.payload ?? {});
  const lifecycle: LifecycleChange[] = [];
  if (!descriptor.isDocument) {
    const path = descriptor.options.site;
    const relation = path?.includes('.') ? path.split('.')[0]! : undefined;
    if (path && relation && changed.includes(relation)) {
      const before = changeSet.originalEntity
        ? await readSiteName(reader, changeSet.meta, changeSet.originalEntity, path)
        : null;
      if (before !== subject.siteName) {
        if (before !== null)
          lifecycle.push({ subject: { ...subject, siteName: before }, taskType: TaskType.RemoveFromSite });
        if (subject.siteName !== null) lifecycle.push({ subject, taskType: TaskType.AddToSite });
      }
    }
  } else {
    const { aliasPath, parent, published, archived } = descriptor.options;
    const moved = [aliasPath, parent].filter((p): p is string => !!p && changed.includes(p));
    if (moved.length > 0) {
      lifecycle.push({ subject, taskType: TaskType.MoveDocument });
    }
    for (const [flag, taskType] of [
      [published, TaskType.PublishDocument],
      [archived, TaskType.ArchiveDocument],
    ] as const) {
      // Turned false, it is an ordinary update: no task type says "unpublish".
      if (!flag || !changed.includes(flag) || !(changeSet.entity as Record<string, unknown>)[flag]) continue;
      lifecycle.push({ subject, taskType });
    }
  }
  // The update itself is always logged, first: the row changed, and a connector that mirrors
  // columns (or predates these task types) must see it as before.
  const update = descriptor.isDocument ? TaskType.UpdateDocument : TaskType.UpdateObject;
  return [{ subject, taskType: update }, ...lifecycle];
}
