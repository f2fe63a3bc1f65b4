import { ReferenceKind, type EntityMetadata, type EntityProperty } from '@mikro-orm/core';
import { TaskDataType } from '../enums/task-data-type.enum.js';
import { getIntegrationDescriptor, type IntegrationDescriptor } from '../metadata/integration-subject.js';
import type { TaskPayload } from '../persistence/task-payload.js';
import type { EntityRowReader } from './entity-row-reader.js';
import { snapshotFields, type EntityFields } from './entity-snapshot.js';
import { blankRecord, type TranslationRecord } from '../persistence/translation-record.js';

/** Children deeper than this are not carried: a guard against cycles in `children` declarations. */
const MAX_CHILD_DEPTH = 5;

/**
 * Builds what a task carries for its data type (R-OUT-9): Simple, the object's own columns;
 * SimpleSnapshot, plus a translation record per foreign key to an integration object or document;
 * Snapshot, plus the children named in the entity's `children`, recursively, with their own
 * translation records. Works the same for objects and documents.
 *
 * The one entry of a change's snapshot: it calls down (`EntityRowReader` for rows, then
 * `entity-snapshot.ts` for an entity in memory) and nothing below calls back up.
 */
export class SnapshotBuilder {
  constructor(private readonly reader: EntityRowReader) {}

  async build(meta: EntityMetadata, entity: object, dataType: TaskDataType): Promise<TaskPayload> {
    // Simple needs no reads: the entity in memory is the whole payload.
    if (dataType === TaskDataType.Simple) {
      return { entity: meta.className, fields: snapshotFields(entity, meta), translations: [], children: {} };
    }
    const fields = (await this.reader.fields(meta, entity)) ?? {};
    return this.payload(meta, entity, fields, dataType, 0);
  }

  /** Narrows a payload built for a richer data type. */
  static narrow(payload: TaskPayload, dataType: TaskDataType): TaskPayload {
    if (dataType === TaskDataType.Snapshot) return payload;
    return {
      entity: payload.entity,
      fields: payload.fields,
      translations: dataType === TaskDataType.SimpleSnapshot ? payload.translations : [],
      children: {},
    };
  }

  private async payload(
    meta: EntityMetadata,
    entity: object | null,
    fields: EntityFields,
    dataType: TaskDataType,
    depth: number,
  ): Promise<TaskPayload> {
    const translations = dataType === TaskDataType.Simple ? [] : await this.translations(meta, fields);
    const children: Record<string, TaskPayload[]> = {};
    const descriptor = getIntegrationDescriptor(meta.class);
    if (dataType === TaskDataType.Snapshot && depth < MAX_CHILD_DEPTH) {
      for (const name of descriptor?.options.children ?? []) {
        const prop = meta.properties[name as keyof typeof meta.properties] as EntityProperty | undefined;
        if (!prop || prop.kind !== ReferenceKind.ONE_TO_MANY || !prop.targetMeta) {
          throw new Error(
            `${meta.className}.${name} is listed in children but is not a one-to-many collection.`,
          );
        }
        const owner = entity ?? {
          [meta.getPrimaryProps()[0]!.name]: fields[meta.getPrimaryProps()[0]!.name],
        };
        const items = await this.reader.children(owner, prop);
        children[name] = await Promise.all(
          items.map((item) => this.payload(prop.targetMeta!, null, item, dataType, depth + 1)),
        );
      }
    }
    return { entity: meta.className, fields, translations, children };
  }

  /** A record per to-one relation pointing at an integration object or document. */
  private async translations(meta: EntityMetadata, fields: EntityFields): Promise<TranslationRecord[]> {
    const records: TranslationRecord[] = [];
    for (const prop of meta.props) {
      const toOne =
        prop.kind === ReferenceKind.MANY_TO_ONE || (prop.kind === ReferenceKind.ONE_TO_ONE && prop.owner);
      const key = fields[prop.name];
      if (!toOne || !prop.targetMeta || key === null || key === undefined) continue;
      const descriptor = getIntegrationDescriptor(prop.targetMeta.class);
      if (!descriptor) continue;
      records.push(await this.record(prop, prop.targetMeta, descriptor, key as string | number));
    }
    return records;
  }

  private async record(
    prop: EntityProperty,
    target: EntityMetadata,
    descriptor: IntegrationDescriptor,
    id: string | number,
  ): Promise<TranslationRecord> {
    const fields = await this.reader.fields(target, id);
    const record = blankRecord(
      prop.name,
      descriptor.isDocument,
      descriptor.isDocument ? descriptor.options.className : descriptor.options.objectType,
      id,
    );
    record.missing = fields === null;
    if (!fields) return record;
    record.siteName = await this.readPath(target, fields, descriptor.options.site);
    if (descriptor.isDocument) {
      const { options } = descriptor;
      if (options.className in fields) record.objectType = String(fields[options.className]);
      record.codeName = text(fields[options.aliasPath]);
      record.nodeGuid = text(fields[options.nodeGuid]);
      record.culture = text(fields[options.culture]);
      record.referencesNode = !!options.nodeId && prop.referencedPKs?.[0] === options.nodeId;
    } else {
      const { options } = descriptor;
      record.codeName = text(fields[options.codeName]);
      if (options.parent) {
        record.parentType = options.parent.objectType;
        record.parentId = (fields[options.parent.property] as string | number | null) ?? null;
      }
      if (options.group) record.groupId = (fields[options.group] as string | number | null) ?? null;
    }
    return record;
  }

  /** Follows `site.name`-style paths through stored foreign keys. */
  private async readPath(
    meta: EntityMetadata,
    fields: EntityFields,
    path: string | undefined,
  ): Promise<string | null> {
    if (!path) return null;
    const [head, ...rest] = path.split('.');
    const value = fields[head!];
    if (value === null || value === undefined) return null;
    if (rest.length === 0) return text(value);
    const prop = meta.properties[head as keyof typeof meta.properties] as EntityProperty | undefined;
    if (!prop?.targetMeta) return null;
    const next = await this.reader.fields(prop.targetMeta, value);
    return next ? this.readPath(prop.targetMeta, next, rest.join('.')) : null;
  }
}

function text(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}
