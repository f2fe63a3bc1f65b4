import { Collection } from '@mikro-orm/core';
import { TranslationError } from '../errors/translation.error.js';
import type { ExternalId, ExternalIdLookup } from './external-id.js';
import { TranslationHelper } from './translation-helper.js';
import type { TranslationRecord } from '../persistence/translation-record.js';
import { payloadOf } from './task-object.js';

/** An object's columns with foreign keys replaced by external ids; children as arrays when asked. */
export type ExternalColumns = Record<string, unknown>;

/**
 * `translateColumnsToExternal` (R-OUT-10): each foreign key of `obj` that has a translation record
 * is replaced by the id the connector's `getExternalObjectId` / `getExternalDocumentId` returns;
 * with `processChildren`, the Snapshot children are translated the same way. Found ids are cached
 * in `cache` (the connector's) until `clearInternalTranslations()`; ids not found (`null`) are
 * asked again next time, since the reference's target may be created in between; failed lookups
 * are not kept either (the recommended order of the reference: main object first, then the
 * children).
 */
export async function translateToExternal(
  connector: ExternalIdLookup,
  cache: Map<string, unknown>,
  obj: object,
  translations: TranslationHelper,
  processChildren: boolean,
): Promise<ExternalColumns> {
  const payload = payloadOf(obj);
  const columns: ExternalColumns = { ...(payload?.fields ?? (obj as Record<string, unknown>)) };
  for (const record of translations.records) {
    if (record.missing) {
      throw new TranslationError(
        `${payload?.entity ?? 'Object'}.${record.property} points at ${record.objectType} ${record.id}, which no longer ` +
          'existed when the task was logged (deleted?), so it cannot be translated to an external id.',
      );
    }
    columns[record.property] = await externalId(connector, cache, record);
  }
  if (processChildren && payload) {
    for (const name of Object.keys(payload.children)) {
      const value = (obj as Record<string, unknown>)[name];
      const items =
        value instanceof Collection ? (value.getItems() as object[]) : ((value as object[]) ?? []);
      columns[name] = await Promise.all(
        items.map((child) =>
          translateToExternal(connector, cache, child, TranslationHelper.for(child), true),
        ),
      );
    }
  }
  return columns;
}

async function externalId(
  connector: ExternalIdLookup,
  cache: Map<string, unknown>,
  record: TranslationRecord,
): Promise<ExternalId | null> {
  const returnDocumentId = record.isDocument && !record.referencesNode;
  const key = JSON.stringify([
    record.isDocument,
    record.objectType,
    record.codeName,
    record.siteName,
    record.parentType,
    record.parentId,
    record.groupId,
    record.nodeGuid,
    record.culture,
    returnDocumentId,
  ]);
  // Cache the lookup itself, so that children translated side by side ask once per target.
  let lookup = cache.get(key) as Promise<ExternalId | null> | undefined;
  if (!lookup) {
    lookup = Promise.resolve(
      record.isDocument
        ? connector.getExternalDocumentId(
            { nodeGuid: record.nodeGuid, cultureCode: record.culture, siteName: record.siteName },
            returnDocumentId,
          )
        : connector.getExternalObjectId({
            objectType: record.objectType,
            codeName: record.codeName,
            siteName: record.siteName,
            parentType: record.parentType,
            parentId: record.parentId,
            groupId: record.groupId,
          }),
    ).then((id) => id ?? null);
    cache.set(key, lookup);
    lookup.then(
      (id) => {
        if (id === null && cache.get(key) === lookup) cache.delete(key);
      },
      () => {
        if (cache.get(key) === lookup) cache.delete(key);
      },
    );
  }
  return lookup;
}
