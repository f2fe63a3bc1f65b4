import { ReferenceKind, Reference, helper, type EntityManager, type EntityMetadata } from '@mikro-orm/core';

/**
 * The object's own columns by property name (R-OUT-9, Simple): scalars, embeddables, and for each
 * owning to-one relation the referenced primary key. Collections are not columns and are left out.
 * With `omitUnsetRelations` (incoming objects), a relation left `undefined` is not carried, as an
 * undefined scalar is not: an update then leaves it alone instead of clearing it (and an object whose
 * site is not told is not taken for a global one).
 */
export function snapshotFields(
  entity: object,
  meta: EntityMetadata,
  omitUnsetRelations = false,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const source = entity as Record<string, unknown>;
  for (const prop of meta.props) {
    const value = source[prop.name];
    switch (prop.kind) {
      case ReferenceKind.SCALAR:
      case ReferenceKind.EMBEDDED:
        if (value !== undefined) fields[prop.name] = value;
        break;
      case ReferenceKind.MANY_TO_ONE:
      case ReferenceKind.ONE_TO_ONE:
        if (value === undefined && omitUnsetRelations) break;
        if (prop.owner || prop.kind === ReferenceKind.MANY_TO_ONE) fields[prop.name] = primaryKeyOf(value);
        break;
      default:
        break;
    }
  }
  return fields;
}

/** The primary key a to-one relation value points at, or `null`. */
export function primaryKeyOf(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  const target = Reference.unwrapReference(value as object);
  if (typeof target !== 'object') return target;
  return helper(target).getPrimaryKey() ?? null;
}

/**
 * A typed, detached instance of the entity built from stored fields: relations are unloaded
 * references holding the stored key. It belongs to no identity map, so a connector may read and
 * change it freely.
 */
export function rebuildEntity<T extends object>(
  em: EntityManager,
  entityName: string,
  fields: Record<string, unknown>,
): T {
  const meta = em.getMetadata().getByClassName(entityName, false);
  if (!meta) throw new Error(`Entity "${entityName}" is not registered in MikroORM any more.`);
  const data: Record<string, unknown> = { ...fields };
  for (const prop of meta.props) {
    const value = data[prop.name];
    if (value === null || value === undefined) continue;
    if (prop.runtimeType === 'Date' && typeof value === 'string') data[prop.name] = new Date(value);
  }
  // `merge: false`: the instance enters no identity map, so one long-lived fork can build them all.
  return em.getEntityFactory().create(meta.class, data as never, {
    newEntity: false,
    initialized: true,
    merge: false,
  }) as T;
}
