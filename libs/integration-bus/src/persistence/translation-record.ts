/**
 * What another system needs to find the object a foreign key points at, when numeric ids differ
 * between systems (R-OUT-9): code name, site, parent and group for objects; node GUID, culture and
 * site for documents.
 */
export interface TranslationRecord {
  /** Name of the foreign-key property on the referring entity. */
  property: string;
  isDocument: boolean;
  /** Object type, or the document's class name. */
  objectType: string;
  /** The referenced primary key, as stored in the foreign key. */
  id: string | number;
  codeName: string | null;
  siteName: string | null;
  parentType: string | null;
  parentId: string | number | null;
  groupId: string | number | null;
  nodeGuid: string | null;
  culture: string | null;
  /** Documents: whether the key points at the node (culture-independent) rather than the document. */
  referencesNode: boolean;
  /** The referenced row did not exist when the task was logged (a dangling foreign key). */
  missing: boolean;
}

/** A record for a key pointing at an object of `objectType` with nothing known about it yet. */
export function blankRecord(
  property: string,
  isDocument: boolean,
  objectType: string,
  id: string | number,
): TranslationRecord {
  return {
    property,
    isDocument,
    objectType,
    id,
    codeName: null,
    siteName: null,
    parentType: null,
    parentId: null,
    groupId: null,
    nodeGuid: null,
    culture: null,
    referencesNode: false,
    missing: false,
  };
}
