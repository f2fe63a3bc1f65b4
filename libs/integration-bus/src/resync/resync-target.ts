import {
  Reference,
  helper,
  type EntityMetadata,
  type FilterQuery,
  type MetadataStorage,
} from '@mikro-orm/core';
import { TaskType } from '../enums/task-type.enum.js';
import { InvalidResyncError } from '../errors/invalid-resync.error.js';
import { getIntegrationDescriptor, type IntegrationDescriptor } from '../metadata/integration-subject.js';

/** A row's primary key in a form JSON keeps: one value per primary-key property. */
export type RowKey = readonly (string | number | boolean)[];

/**
 * What a resync of an object type reads: the entity, its integration description, and the
 * condition every row of the type meets besides the caller's `where` (for a document class held in
 * a column, that column).
 */
export interface ResyncTarget {
  meta: EntityMetadata<object>;
  descriptor: IntegrationDescriptor;
  /** The object type as given, lower case. */
  objectType: string;
  /** `UpdateObject`, or `UpdateDocument` for a document: a resync task says "this is the row now". */
  taskType: TaskType;
  /** A condition on the document class column, when the class is read from one. */
  base: FilterQuery<object> | undefined;
}

/**
 * The entity behind an object type (R-RES-1): an `@IntegrationObject` whose `objectType` it is, or
 * an `@IntegrationDocument` whose constant `className` it is; failing both, the first document
 * entity that keeps its class in a column, restricted to rows of that class.
 * @throws InvalidResyncError naming `objectType` when no integration entity fits
 */
export function resolveResyncTarget(metadata: MetadataStorage, objectType: string): ResyncTarget {
  const wanted = objectType.toLowerCase();
  let byColumn: ResyncTarget | undefined;
  for (const meta of metadata.getAll().values()) {
    if (meta.embeddable || meta.virtual || !meta.class) continue;
    const descriptor = getIntegrationDescriptor(meta.class);
    if (!descriptor) continue;
    if (!descriptor.isDocument) {
      if (descriptor.options.objectType === wanted) {
        return { meta, descriptor, objectType: wanted, taskType: TaskType.UpdateObject, base: undefined };
      }
      continue;
    }
    const { className } = descriptor.options;
    if (className in meta.properties) {
      byColumn ??= {
        meta,
        descriptor,
        objectType: wanted,
        taskType: TaskType.UpdateDocument,
        base: { [className]: { $ilike: escapeLike(objectType) } },
      };
    } else if (className.toLowerCase() === wanted) {
      return { meta, descriptor, objectType: wanted, taskType: TaskType.UpdateDocument, base: undefined };
    }
  }
  if (byColumn) return byColumn;
  throw new InvalidResyncError(
    'objectType',
    `"${objectType}" is not the object type of an @IntegrationObject entity nor the class of an @IntegrationDocument entity.`,
  );
}

/** `value` as a LIKE pattern that matches it literally (R-SEC-4). */
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The properties of the primary key, in key order. */
function keyProperties(meta: EntityMetadata<object>): string[] {
  return meta.primaryKeys as string[];
}

/** The order of a resync: the primary key, ascending (the order its index serves). */
export function keyOrder(meta: EntityMetadata<object>): Record<string, 'asc'> {
  return Object.fromEntries(keyProperties(meta).map((p) => [p, 'asc' as const]));
}

/** The primary key of a loaded row, as JSON keeps it (big integers and dates as text). */
export function keyOf(meta: EntityMetadata<object>, entity: object): RowKey {
  return keyProperties(meta).map((name) => {
    let value: unknown = (entity as Record<string, unknown>)[name];
    if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
      // A relation in the key: the referenced row's key.
      value = helper(Reference.unwrapReference(value)).getPrimaryKey();
    }
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    return String(value);
  });
}

/** One string per key, for sets and maps. */
export function keyText(key: RowKey): string {
  return JSON.stringify(key);
}

/**
 * Rows after `key` in primary-key order (`after`), or up to and including it (`upTo`): for one
 * column `{ id: { $gt: k } }`; for a composite key the lexicographic expansion
 * `(a > x) or (a = x and b > y)`, which is what `order by a, b` means.
 */
export function keyBound(
  meta: EntityMetadata<object>,
  key: RowKey,
  side: 'after' | 'upTo',
): FilterQuery<object> {
  const names = keyProperties(meta);
  const alternatives: Record<string, unknown>[] = [];
  for (let i = 0; i < names.length; i++) {
    const last = i === names.length - 1;
    const condition: Record<string, unknown> = {};
    for (let j = 0; j < i; j++) condition[names[j]!] = key[j];
    const op = side === 'after' ? '$gt' : last ? '$lte' : '$lt';
    condition[names[i]!] = { [op]: key[i] };
    alternatives.push(condition);
  }
  return alternatives.length === 1 ? alternatives[0]! : { $or: alternatives };
}

/** The row with this key. */
export function keyEquals(meta: EntityMetadata<object>, key: RowKey): FilterQuery<object> {
  return Object.fromEntries(keyProperties(meta).map((name, i) => [name, key[i]]));
}

/** Whether a stored position is a key of this entity. */
export function isRowKey(meta: EntityMetadata<object>, value: unknown): value is RowKey {
  return (
    Array.isArray(value) &&
    value.length === keyProperties(meta).length &&
    value.every((v) => ['string', 'number', 'boolean'].includes(typeof v))
  );
}

/** All of `conditions` (the undefined ones left out). */
export function allOf(...conditions: (FilterQuery<object> | undefined)[]): FilterQuery<object> {
  const present = conditions.filter((c): c is FilterQuery<object> => c !== undefined);
  if (present.length === 0) return {};
  return present.length === 1 ? present[0]! : { $and: present };
}
