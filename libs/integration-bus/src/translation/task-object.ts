import { Collection, type EntityManager } from '@mikro-orm/core';
import type { TaskPayload } from '../persistence/task-payload.js';

const payloads = new WeakMap<object, TaskPayload>();

/**
 * Rebuilds a task's object from its payload: a detached entity (a plain object for tasks logged
 * without an entity class), with its Snapshot children hydrated into their collections. Each rebuilt
 * instance remembers its payload, which `translateColumnsToExternal` reads.
 */
export function rebuildTaskObject(em: EntityManager, payload: TaskPayload): object {
  return rebuild(em, payload);
}

function rebuild(em: EntityManager, payload: TaskPayload): object {
  const object = payload.entity ? rebuildEntity(em, payload.entity, payload.fields) : { ...payload.fields };
  for (const [name, childPayloads] of Object.entries(payload.children ?? {})) {
    const children = childPayloads.map((child) => rebuild(em, child));
    const target = object as Record<string, unknown>;
    const collection = target[name];
    if (collection instanceof Collection) collection.hydrate(children);
    else target[name] = children;
  }
  payloads.set(object, payload);
  return object;
}

/**
 * A typed, detached instance of the entity built from stored fields: relations are unloaded
 * references holding the stored key. It belongs to no identity map, so a connector may read and
 * change it freely.
 */
function rebuildEntity(em: EntityManager, entityName: string, fields: Record<string, unknown>): object {
  const meta = em.getMetadata().getByClassName(entityName, false);
  if (!meta) throw new Error(`Entity "${entityName}" is not registered in MikroORM any more.`);
  const data: Record<string, unknown> = { ...fields };
  for (const prop of meta.props) {
    const value = data[prop.name];
    if (value === null || value === undefined) continue;
    if (prop.runtimeType === 'Date' && typeof value === 'string') data[prop.name] = new Date(value);
  }
  // `merge: false`: the instance enters no identity map, so one long-lived fork can build them all.
  return em.getEntityFactory().create(meta.class, data as never, {
    newEntity: false,
    initialized: true,
    merge: false,
  });
}

/** The payload an object was rebuilt from, if it came from a task. */
export function payloadOf(object: object): TaskPayload | undefined {
  return payloads.get(object);
}
