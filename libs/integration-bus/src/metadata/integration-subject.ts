import { INTEGRATION_DOCUMENT_METADATA, INTEGRATION_OBJECT_METADATA } from '../integration-bus.constants.js';
import type { IntegrationDocumentOptions } from './integration-document.decorator.js';
import type { IntegrationObjectOptions } from './integration-object.decorator.js';

/**
 * What subscriptions see of a changed object or document: its type, natural keys and site.
 * Custom subscriptions receive it in `isMatch`.
 */
export interface IntegrationSubject {
  readonly isDocument: boolean;
  /** Object type (`cms.user`), or the document's class name. */
  readonly objectType: string;
  readonly codeName: string | null;
  /** `null` for a global object. */
  readonly siteName: string | null;
  readonly aliasPath: string | null;
  readonly culture: string | null;
  readonly className: string | null;
  readonly nodeGuid: string | null;
  /** The entity (or the plain data of a task logged by hand). */
  readonly entity: object;
}

/** The integration description of an entity class, if it has one. */
export type IntegrationDescriptor =
  | { readonly isDocument: false; readonly options: IntegrationObjectOptions }
  | { readonly isDocument: true; readonly options: IntegrationDocumentOptions };

/** Reads the `@IntegrationObject` / `@IntegrationDocument` metadata of an entity class. */
export function getIntegrationDescriptor(entityClass: object | undefined): IntegrationDescriptor | undefined {
  if (!entityClass) return undefined;
  const object = Reflect.getMetadata(INTEGRATION_OBJECT_METADATA, entityClass) as
    IntegrationObjectOptions | undefined;
  if (object) return { isDocument: false, options: object };
  const document = Reflect.getMetadata(INTEGRATION_DOCUMENT_METADATA, entityClass) as
    IntegrationDocumentOptions | undefined;
  return document ? { isDocument: true, options: document } : undefined;
}

/**
 * Follows a property or dotted path (`site.name`) through the entity and loaded relations.
 * MikroORM references are unwrapped; a relation that is not loaded yields `null`.
 */
export function readPath(source: object, path: string): unknown {
  let value: unknown = source;
  for (const key of segmentsOf(path)) {
    if (value === null || value === undefined) return null;
    value = unwrapReference(value);
    value = (value as Record<string, unknown>)[key];
  }
  return value === undefined ? null : unwrapReference(value);
}

const segments = new Map<string, readonly string[]>();

/** `site.name` → `['site', 'name']`, split once per path: subjects are described on every flush. */
function segmentsOf(path: string): readonly string[] {
  let parts = segments.get(path);
  if (!parts) {
    parts = path.split('.');
    segments.set(path, parts);
  }
  return parts;
}

function unwrapReference(value: unknown): unknown {
  if (value && typeof value === 'object' && 'unwrap' in value && typeof value.unwrap === 'function') {
    return (value as { unwrap(): unknown }).unwrap();
  }
  return value;
}

function readString(source: object, path: string | undefined): string | null {
  if (!path) return null;
  const value = readPath(source, path);
  return value === null || value === undefined ? null : String(value);
}

/** Builds the subject of an entity marked with `@IntegrationObject` or `@IntegrationDocument`. */
export function describeEntity(entity: object, descriptor: IntegrationDescriptor): IntegrationSubject {
  if (!descriptor.isDocument) {
    const { options } = descriptor;
    return {
      isDocument: false,
      objectType: options.objectType,
      codeName: readString(entity, options.codeName),
      siteName: readString(entity, options.site),
      aliasPath: null,
      culture: null,
      className: null,
      nodeGuid: null,
      entity,
    };
  }
  const { options } = descriptor;
  const className = options.className in entity ? readString(entity, options.className) : options.className;
  return {
    isDocument: true,
    objectType: className ?? options.className,
    codeName: readString(entity, options.aliasPath),
    siteName: readString(entity, options.site),
    aliasPath: readString(entity, options.aliasPath),
    culture: readString(entity, options.culture),
    className,
    nodeGuid: readString(entity, options.nodeGuid),
    entity,
  };
}

/** A plain object logged through `IntegrationBus.logInternalTask` without an entity class. */
export interface PlainIntegrationObject {
  objectType: string;
  codeName: string;
  siteName?: string | null;
  data: Record<string, unknown>;
}

/** Builds the subject of a plain object given to `logInternalTask`. */
export function describePlainObject(obj: PlainIntegrationObject): IntegrationSubject {
  return {
    isDocument: false,
    objectType: obj.objectType.toLowerCase(),
    codeName: obj.codeName,
    siteName: obj.siteName ?? null,
    aliasPath: null,
    culture: null,
    className: null,
    nodeGuid: null,
    entity: obj.data,
  };
}
