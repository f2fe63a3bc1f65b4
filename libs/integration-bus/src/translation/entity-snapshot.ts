import { ReferenceKind, Reference, helper, type EntityMetadata } from '@mikro-orm/core';

// The bottom of the snapshot path (SnapshotBuilder → EntityRowReader → here): pure functions of an
// entity in memory. Nothing here reads a row or calls back into the modules above.

/** Stored fields of an entity: property name → value, foreign keys as the referenced key. */
export type EntityFields = Record<string, unknown>;

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
): EntityFields {
  const fields: EntityFields = {};
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
