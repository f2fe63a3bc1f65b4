import { Collection, type EntityManager } from '@mikro-orm/core';
import { rebuildEntity } from '../outgoing/entity-snapshot.js';
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

/** The payload an object was rebuilt from, if it came from a task. */
export function payloadOf(object: object): TaskPayload | undefined {
  return payloads.get(object);
}
