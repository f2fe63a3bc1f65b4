import type { TranslationRecord } from './translation-record.js';

/** What `integration_task.data` holds: everything a processor needs to rebuild the object. */
export interface TaskPayload {
  /** MikroORM entity name to rebuild, or `null` for a plain object logged by hand. */
  entity: string | null;
  /** The object's own columns, by property name; foreign keys hold the referenced primary key. */
  fields: Record<string, unknown>;
  /** Translation records of foreign keys (SimpleSnapshot and Snapshot). */
  translations: TranslationRecord[];
  /** Snapshot mode: child collections by property name, each child a payload of its own. */
  children: Record<string, TaskPayload[]>;
}
