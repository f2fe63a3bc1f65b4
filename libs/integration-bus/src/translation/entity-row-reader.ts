import {
  Reference,
  ReferenceKind,
  helper,
  type Collection,
  type EntityMetadata,
  type EntityProperty,
} from '@mikro-orm/core';
import { sqlRows, type SqlExecutor } from '../persistence/bus-database.js';
import { snapshotFields, type EntityFields } from './entity-snapshot.js';

/**
 * Reads entities for task snapshots: from memory when MikroORM has them loaded, else with plain SQL
 * on the logging transaction (so it sees the rows the flush just wrote, and never re-enters the
 * unit of work: no `em.find` inside a flush). Rows are cached for the reader's life (one flush).
 */
export class EntityRowReader {
  readonly #rows = new Map<string, EntityFields | null>();

  constructor(private readonly db: SqlExecutor) {}

  /** The fields of an entity given as an instance, a reference, or a primary key; `null` if no such row. */
  async fields(meta: EntityMetadata, value: unknown): Promise<EntityFields | null> {
    if (value === null || value === undefined) return null;
    if (typeof value === 'object') {
      const target = Reference.unwrapReference(value as object);
      const wrapped = helper(target);
      if (wrapped.isInitialized()) return snapshotFields(target, meta);
      return this.load(meta, wrapped.getPrimaryKey());
    }
    return this.load(meta, value);
  }

  /** The fields of each item of a one-to-many collection, in primary-key order. */
  async children(owner: object, prop: EntityProperty): Promise<EntityFields[]> {
    const childMeta = prop.targetMeta!;
    const collection = (owner as Record<string, unknown>)[prop.name] as Collection<object> | undefined;
    if (collection?.isInitialized?.())
      return collection.getItems().map((item) => snapshotFields(item, childMeta));
    const ownerKey = helper(owner).getPrimaryKey();
    if (ownerKey === null || ownerKey === undefined) return [];
    const backReference = childMeta.properties[
      prop.mappedBy as keyof typeof childMeta.properties
    ] as EntityProperty;
    const rows = await sqlRows<Record<string, unknown>>(
      this.db,
      `select * from ${tableOf(childMeta)} where ${quote(backReference.fieldNames[0]!)} = $1 order by ${quote(
        childMeta.getPrimaryProps()[0]!.fieldNames[0]!,
      )}`,
      [ownerKey],
    );
    return rows.map((row) => fieldsFromRow(childMeta, row));
  }

  private async load(meta: EntityMetadata, key: unknown): Promise<EntityFields | null> {
    const cacheKey = `${meta.className}:${String(key)}`;
    if (this.#rows.has(cacheKey)) return this.#rows.get(cacheKey)!;
    const [row] = await sqlRows<Record<string, unknown>>(
      this.db,
      `select * from ${tableOf(meta)} where ${quote(meta.getPrimaryProps()[0]!.fieldNames[0]!)} = $1`,
      [key],
    );
    const fields = row ? fieldsFromRow(meta, row) : null;
    this.#rows.set(cacheKey, fields);
    return fields;
  }
}

function fieldsFromRow(meta: EntityMetadata, row: Record<string, unknown>): EntityFields {
  const fields: EntityFields = {};
  for (const prop of meta.props) {
    const column = prop.fieldNames?.[0];
    if (!column || !(column in row)) continue;
    if (
      prop.kind === ReferenceKind.SCALAR ||
      prop.kind === ReferenceKind.MANY_TO_ONE ||
      (prop.kind === ReferenceKind.ONE_TO_ONE && prop.owner)
    ) {
      fields[prop.name] = row[column];
    }
  }
  return fields;
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function tableOf(meta: EntityMetadata): string {
  return meta.schema && meta.schema !== '*'
    ? `${quote(meta.schema)}.${quote(meta.tableName)}`
    : quote(meta.tableName);
}
