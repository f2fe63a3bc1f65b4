import { Reference, Utils, helper, type EntityMetadata, type EntityProperty } from '@mikro-orm/core';
import type { EntityRowReader } from './entity-row-reader.js';

/**
 * The site name at the end of a dotted site path (`site.name`), following relations that are not
 * loaded (an entity loaded without populating its site, or a relation set with
 * `em.getReference(Site, id)`) by reading their rows through `reader`, so that a task's site never
 * depends on what the caller happened to populate (R-OUT-2). Relations loaded in memory are read
 * from memory. `entity` may also be plain entity data (a change set's original values), whose
 * relations hold keys. `null` for an object without a site.
 */
export async function readSiteName(
  reader: EntityRowReader,
  meta: EntityMetadata,
  entity: object,
  path: string,
): Promise<string | null> {
  const segments = path.split('.');
  let current: unknown = entity;
  let currentMeta = meta;
  for (const [index, key] of segments.entries()) {
    if (current === null || current === undefined) return null;
    const source = isLoaded(current)
      ? (Reference.unwrapReference(current as object) as Record<string, unknown>)
      : await reader.fields(currentMeta, current); // a reference, or a key read from a row
    if (!source) return null;
    const value = unwrap(source[key]);
    if (index === segments.length - 1) return value === null || value === undefined ? null : String(value);
    const prop = currentMeta.properties[key as keyof typeof currentMeta.properties] as
      EntityProperty | undefined;
    if (!prop?.targetMeta) return null;
    currentMeta = prop.targetMeta;
    current = value;
  }
  return null;
}

/** Whether `value` is plain data, or an entity (or a reference to one) whose data is in memory. */
function isLoaded(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const target = Reference.unwrapReference(value);
  return !Utils.isEntity(target) || helper(target).isInitialized();
}

function unwrap(value: unknown): unknown {
  return typeof value === 'object' && value !== null && Reference.isReference(value) ? value.unwrap() : value;
}
