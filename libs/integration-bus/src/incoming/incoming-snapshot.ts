import { Collection, ReferenceKind, type EntityMetadata, type EntityProperty } from '@mikro-orm/core';
import type { BaseIntegrationConnector } from '../connectors/base-integration-connector.js';
import { TaskDataType } from '../enums/task-data-type.enum.js';
import { getIntegrationDescriptor } from '../metadata/integration-subject.js';
import { snapshotFields } from '../translation/entity-snapshot.js';
import type { TaskPayload } from '../persistence/task-payload.js';
import { blankRecord, type TranslationRecord } from '../persistence/translation-record.js';

/**
 * Builds the payload of an incoming task from the entity the connector prepared. Its foreign keys
 * hold external ids; for SimpleSnapshot and Snapshot each is described by the connector's
 * `getInternalObjectParams` / `getInternalDocumentParams` (R-IN-1), so that processing can find the
 * local object by code name or node GUID. Snapshot adds the prepared children.
 */
export async function buildIncomingPayload(
  connector: BaseIntegrationConnector,
  meta: EntityMetadata,
  entity: object,
  dataType: TaskDataType,
): Promise<TaskPayload> {
  const fields = snapshotFields(entity, meta, true);
  const translations = dataType === TaskDataType.Simple ? [] : await describeKeys(connector, meta, fields);
  const children: Record<string, TaskPayload[]> = {};
  if (dataType === TaskDataType.Snapshot) {
    for (const name of getIntegrationDescriptor(meta.class)?.options.children ?? []) {
      const prop = meta.properties[name as keyof typeof meta.properties] as EntityProperty | undefined;
      const value = (entity as Record<string, unknown>)[name];
      if (!prop?.targetMeta) continue;
      const items =
        value instanceof Collection ? (value.getItems(false) as object[]) : ((value as object[]) ?? []);
      children[name] = await Promise.all(
        items.map((child) => buildIncomingPayload(connector, prop.targetMeta!, child, dataType)),
      );
    }
  }
  return { entity: meta.className, fields, translations, children };
}

async function describeKeys(
  connector: BaseIntegrationConnector,
  meta: EntityMetadata,
  fields: Record<string, unknown>,
): Promise<TranslationRecord[]> {
  const records: TranslationRecord[] = [];
  for (const prop of meta.props) {
    const toOne =
      prop.kind === ReferenceKind.MANY_TO_ONE || (prop.kind === ReferenceKind.ONE_TO_ONE && prop.owner);
    const id = fields[prop.name] as string | number | null | undefined;
    if (!toOne || !prop.targetMeta || id === null || id === undefined) continue;
    const descriptor = getIntegrationDescriptor(prop.targetMeta.class);
    if (!descriptor) continue;
    const record = blankRecord(
      prop.name,
      descriptor.isDocument,
      descriptor.isDocument ? descriptor.options.className : descriptor.options.objectType,
      id,
    );
    if (descriptor.isDocument) {
      const params = await connector.getInternalDocumentParams(id, record.objectType);
      if (params)
        Object.assign(record, {
          nodeGuid: params.nodeGuid,
          culture: params.cultureCode,
          siteName: params.siteName,
        });
      record.missing = !params;
    } else {
      const params = await connector.getInternalObjectParams(id, record.objectType);
      if (params) {
        Object.assign(record, {
          codeName: params.codeName,
          siteName: params.siteName ?? null,
          parentType: descriptor.options.parent?.objectType ?? null,
          parentId: params.parentId ?? null,
          groupId: params.groupId ?? null,
        });
      }
      record.missing = !params;
    }
    records.push(record);
  }
  return records;
}
