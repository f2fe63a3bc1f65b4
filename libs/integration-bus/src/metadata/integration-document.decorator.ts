import { INTEGRATION_DOCUMENT_METADATA } from '../integration-bus.constants.js';

/** Where an integration document (a page of a content tree) keeps its identifying data. */
export interface IntegrationDocumentOptions {
  /** Property holding the document type, or a constant class name when no such property exists. */
  className: string;
  /** Property holding the alias path (`/Home/News`). */
  aliasPath: string;
  /** Property holding the culture code (`en-US`). */
  culture: string;
  /** Property holding the node GUID, shared by every culture version of the page. */
  nodeGuid: string;
  /** Property, or dotted path through loaded relations, giving the site name. */
  site?: string;
  /** Many-to-one property pointing at the parent document: a change of it is a MoveDocument. */
  parent?: string;
  /** Property holding the culture-independent node id; defaults to none. */
  nodeId?: string;
  /**
   * Boolean property set by incoming PublishDocument (and cleared by ArchiveDocument); a flush that
   * turns it true logs a PublishDocument task.
   */
  published?: string;
  /**
   * Boolean property set by incoming ArchiveDocument (and cleared by PublishDocument); a flush that
   * turns it true logs an ArchiveDocument task.
   */
  archived?: string;
  /** One-to-many collections carried in Snapshot mode. */
  children?: string[];
}

/**
 * Marks a MikroORM entity as an integration document: a page with alias path, culture, class name
 * and node GUID. Its changes become CreateDocument / UpdateDocument / DeleteDocument tasks.
 */
export function IntegrationDocument(options: IntegrationDocumentOptions): ClassDecorator {
  for (const key of ['className', 'aliasPath', 'culture', 'nodeGuid'] as const) {
    if (!options?.[key]) {
      throw new TypeError(`@IntegrationDocument() needs \`${key}\`.`);
    }
  }
  return (target) => {
    Reflect.defineMetadata(INTEGRATION_DOCUMENT_METADATA, { ...options }, target);
  };
}
