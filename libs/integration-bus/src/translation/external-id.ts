/** An id in another system. */
export type ExternalId = string | number;

/** What identifies an object in another system (`getExternalObjectId`). */
export interface ExternalObjectQuery {
  objectType: string;
  codeName: string | null;
  siteName: string | null;
  parentType: string | null;
  parentId: string | number | null;
  groupId: string | number | null;
}

/** What identifies a document in another system (`getExternalDocumentId`). */
export interface ExternalDocumentQuery {
  nodeGuid: string | null;
  cultureCode: string | null;
  siteName: string | null;
}

/**
 * What `translateColumnsToExternal` asks of a connector: the external id of each object or document
 * a foreign key points at. `BaseIntegrationConnector` implements it; the translator knows no more of
 * the connector than this.
 */
export interface ExternalIdLookup {
  getExternalObjectId(query: ExternalObjectQuery): ExternalId | null | Promise<ExternalId | null>;
  getExternalDocumentId(
    query: ExternalDocumentQuery,
    returnDocumentId: boolean,
  ): ExternalId | null | Promise<ExternalId | null>;
}
