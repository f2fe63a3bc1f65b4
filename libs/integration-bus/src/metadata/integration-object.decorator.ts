import { INTEGRATION_OBJECT_METADATA } from '../integration-bus.constants.js';

/** Where an integration object keeps the data other systems identify it by. */
export interface IntegrationObjectOptions {
  /** Lower-case dotted type name, e.g. `cms.user`. */
  objectType: string;
  /** Property holding the code name: the natural key that survives between systems. */
  codeName: string;
  /** Property, or dotted path through loaded relations, giving the site name (`site.name`). */
  site?: string;
  /** Many-to-one property pointing at the parent object, and the parent's object type. */
  parent?: { property: string; objectType: string };
  /** Property holding the group id. */
  group?: string;
  /** One-to-many collections carried in Snapshot mode. */
  children?: string[];
}

/**
 * Marks a MikroORM entity as an integration object: its changes are matched against connector
 * subscriptions and logged as outgoing tasks.
 *
 * @example
 * ```ts
 * @Entity()
 * @IntegrationObject({ objectType: 'cms.user', codeName: 'userName', site: 'site.name' })
 * export class User { … }
 * ```
 */
export function IntegrationObject(options: IntegrationObjectOptions): ClassDecorator {
  if (!options?.objectType || !options.codeName) {
    throw new TypeError('@IntegrationObject() needs both `objectType` and `codeName`.');
  }
  return (target) => {
    Reflect.defineMetadata(
      INTEGRATION_OBJECT_METADATA,
      { ...options, objectType: options.objectType.toLowerCase() },
      target,
    );
  };
}
