/**
 * What another system needs to find the object a foreign key points at, when numeric ids differ
 * between systems (R-OUT-9): code name, site, parent and group for objects; node GUID, culture and
 * site for documents.
 */
export interface TranslationRecord {
  /** Name of the foreign-key property on the referring entity. */
  property: string;
  isDocument: boolean;
  objectType: string;
  id: string | number;
  codeName: string | null;
  siteName: string | null;
  parentType: string | null;
  parentId: string | number | null;
  groupId: string | number | null;
  nodeGuid: string | null;
  culture: string | null;
}
