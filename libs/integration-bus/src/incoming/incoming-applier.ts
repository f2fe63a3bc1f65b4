import { Injectable } from '@nestjs/common';
import {
  Collection,
  MikroORM,
  ReferenceKind,
  type EntityManager,
  type EntityMetadata,
  type EntityProperty,
  type FilterQuery,
} from '@mikro-orm/core';
import { TaskDataType } from '../enums/task-data-type.enum.js';
import { TaskType } from '../enums/task-type.enum.js';
import { IntegrationBusError } from '../errors/integration-bus.error.js';
import { TranslationError } from '../errors/translation.error.js';
import { getIntegrationDescriptor, type IntegrationDescriptor } from '../metadata/integration-subject.js';
import type { QueuedSynchronization } from '../persistence/queue.store.js';
import type { TaskPayload } from '../persistence/task-payload.js';
import type { TranslationRecord } from '../persistence/translation-record.js';
import { runAsIncomingFrom } from '../connectors/incoming-origin.js';

type Row = Record<string, unknown>;

/**
 * Applies one incoming task through MikroORM, in one transaction (R-IN-2): rebuilds the entity's
 * fields, turns each translated foreign key into the local object found by code name (+ site,
 * parent, group) or node GUID (+ culture, site), and performs the task type; Snapshot children
 * replace the existing ones. Runs marked with the connector's name so the changes it flushes are
 * not logged back to that connector (R-IN-4).
 */
@Injectable()
export class IncomingApplier {
  constructor(private readonly orm: MikroORM) {}

  apply(connectorName: string, task: QueuedSynchronization, payload: TaskPayload): Promise<void> {
    if (!payload.entity)
      throw new IntegrationBusError(`Incoming task ${task.taskId} names no entity to apply.`);
    const meta = this.orm.getMetadata().getByClassName(payload.entity, false);
    const descriptor = meta && getIntegrationDescriptor(meta.class);
    if (!meta || !descriptor) {
      throw new IntegrationBusError(
        `Entity "${payload.entity}" is not a registered integration entity any more.`,
      );
    }
    return runAsIncomingFrom(connectorName, () =>
      this.orm.em.fork({ clear: true }).transactional(async (em) => {
        await this.applyTaskType(em, meta, descriptor, task, payload);
      }),
    );
  }

  private async applyTaskType(
    em: EntityManager,
    meta: EntityMetadata,
    descriptor: IntegrationDescriptor,
    task: QueuedSynchronization,
    payload: TaskPayload,
  ): Promise<void> {
    const { taskType, siteName } = task;
    const fields = await this.localFields(em, meta, payload, task.dataType);
    const site = siteOf(meta, descriptor);
    // The task's site (processExternalTask's siteName, else the object's own) is where the object
    // lives: part of its natural key, and applied to it (R-IN-2). AddToSite's site is where it goes.
    if (site && siteName && taskType !== TaskType.AddToSite) {
      fields[site.property] = site.nameProperty
        ? await this.localSite(em, site.target!, site.nameProperty, siteName)
        : siteName;
    }
    switch (taskType) {
      case TaskType.CreateObject:
      case TaskType.UpdateObject:
      case TaskType.CreateDocument:
      case TaskType.UpdateDocument:
      case TaskType.MoveDocument:
        await this.upsert(em, meta, descriptor, fields, payload);
        return;
      case TaskType.DeleteObject:
      case TaskType.DeleteDocument: {
        const existing = await this.findExisting(em, meta, descriptor, fields);
        if (existing) em.remove(existing);
        return;
      }
      case TaskType.DeleteAllCultures: {
        if (!descriptor.isDocument) break;
        const key = descriptor.options.nodeGuid;
        for (const page of await em.find(meta.class, { [key]: fields[key] } as FilterQuery<object>))
          em.remove(page);
        return;
      }
      case TaskType.AddToSite:
      case TaskType.RemoveFromSite: {
        if (!site?.nameProperty) {
          throw new IntegrationBusError(
            `${meta.className} has no site relation (declare site: 'relation.name').`,
          );
        }
        // Without a site, AddToSite used to move the object out of its site and count OK.
        if (taskType === TaskType.AddToSite && !siteName) {
          throw new IntegrationBusError(`${taskType} names no site to add the ${meta.className} to.`);
        }
        if (taskType === TaskType.AddToSite) delete fields[site.property]; // wherever it is now
        const existing = await this.mustExist(em, meta, descriptor, fields, taskType);
        const target =
          taskType === TaskType.AddToSite
            ? await this.localSite(em, site.target!, site.nameProperty, siteName!)
            : null;
        em.assign(existing, { [site.property]: target } as never);
        return;
      }
      case TaskType.PublishDocument:
      case TaskType.ArchiveDocument: {
        if (!descriptor.isDocument) break;
        const flag =
          taskType === TaskType.PublishDocument ? descriptor.options.published : descriptor.options.archived;
        if (!flag) {
          throw new IntegrationBusError(
            `${meta.className} cannot be ${taskType === TaskType.PublishDocument ? 'published' : 'archived'}: ` +
              `declare the boolean property in @IntegrationDocument({ ${taskType === TaskType.PublishDocument ? 'published' : 'archived'}: … }).`,
          );
        }
        const existing = await this.mustExist(em, meta, descriptor, fields, taskType);
        em.assign(existing, { [flag]: true } as never);
        const other =
          taskType === TaskType.PublishDocument ? descriptor.options.archived : descriptor.options.published;
        if (other) em.assign(existing, { [other]: false } as never);
        return;
      }
      default:
        break;
    }
    throw new IntegrationBusError(`Task type ${taskType} cannot be applied to ${meta.className}.`);
  }

  /** Stored fields with primary keys dropped and foreign keys turned into local references. */
  private async localFields(
    em: EntityManager,
    meta: EntityMetadata,
    payload: TaskPayload,
    dataType: TaskDataType,
  ): Promise<Row> {
    const fields: Row = {};
    const records = new Map(payload.translations.map((r) => [r.property, r]));
    for (const prop of meta.props) {
      if (!(prop.name in payload.fields) || prop.primary) continue;
      const value = payload.fields[prop.name];
      if (prop.kind === ReferenceKind.SCALAR || prop.kind === ReferenceKind.EMBEDDED) {
        fields[prop.name] =
          prop.runtimeType === 'Date' && typeof value === 'string' ? new Date(value) : value;
      } else if (isToOne(prop)) {
        const record = records.get(prop.name);
        if (value === null || value === undefined) fields[prop.name] = null;
        else if (record) fields[prop.name] = await this.localReference(em, prop, record);
        // Simple carries no translation data: the key is the local id prepareInternalObject set.
        else if (dataType === TaskDataType.Simple) fields[prop.name] = await this.localById(em, prop, value);
        // Otherwise a key without a record is an external id, meaningless here: leave it out.
      }
    }
    return fields;
  }

  /** The local object a translation record describes, as a reference, or a `TranslationError`. */
  private async localReference(
    em: EntityManager,
    prop: EntityProperty,
    record: TranslationRecord,
  ): Promise<object> {
    const target = prop.targetMeta!;
    const descriptor = getIntegrationDescriptor(target.class);
    const describe = record.isDocument
      ? `${record.objectType} with node GUID ${record.nodeGuid} (${record.culture ?? 'any culture'})`
      : `${record.objectType} with code name "${record.codeName}"${record.siteName ? ` on site ${record.siteName}` : ''}`;
    if (record.missing || !descriptor) {
      throw new TranslationError(
        `${prop.name}: the connector could not identify external ${record.objectType} ${record.id}.`,
      );
    }
    const where: Row = {};
    if (descriptor.isDocument) {
      where[descriptor.options.nodeGuid] = record.nodeGuid;
      if (record.culture) where[descriptor.options.culture] = record.culture;
    } else {
      where[descriptor.options.codeName] = record.codeName;
      if (descriptor.options.parent && record.parentId !== null)
        where[descriptor.options.parent.property] = record.parentId;
      if (descriptor.options.group && record.groupId !== null)
        where[descriptor.options.group] = record.groupId;
    }
    if (descriptor.options.site && record.siteName)
      Object.assign(where, nestedWhere(descriptor.options.site, record.siteName));
    const found = await em.findOne(target.class, where as FilterQuery<object>);
    if (!found) throw new TranslationError(`${prop.name}: no local ${describe} exists.`);
    return found;
  }

  private async upsert(
    em: EntityManager,
    meta: EntityMetadata,
    descriptor: IntegrationDescriptor,
    fields: Row,
    payload: TaskPayload,
  ): Promise<void> {
    const existing = await this.findExisting(em, meta, descriptor, fields);
    const entity = existing ? em.assign(existing, fields as never) : em.create(meta.class, fields as never);
    for (const [name, children] of Object.entries(payload.children)) {
      const prop = meta.properties[name as keyof typeof meta.properties] as EntityProperty | undefined;
      if (!prop?.targetMeta || prop.kind !== ReferenceKind.ONE_TO_MANY) continue;
      const collection = (entity as Row)[name] as Collection<object>;
      if (existing) {
        await collection.init();
        for (const old of collection.getItems()) em.remove(old);
      }
      for (const child of children) {
        const childFields = await this.localFields(em, prop.targetMeta, child, TaskDataType.Snapshot);
        childFields[prop.mappedBy] = entity;
        em.create(prop.targetMeta.class, childFields as never);
      }
    }
  }

  /**
   * The local entity with the natural key of `fields`: code name + site + parent + group (SPEC §2),
   * or node GUID + culture. An object whose site the task does not tell is looked up without it,
   * and more than one candidate is an error rather than a guess.
   */
  private async findExisting(
    em: EntityManager,
    meta: EntityMetadata,
    descriptor: IntegrationDescriptor,
    fields: Row,
  ): Promise<object | null> {
    const where: Row = {};
    if (descriptor.isDocument) {
      where[descriptor.options.nodeGuid] = fields[descriptor.options.nodeGuid];
      where[descriptor.options.culture] = fields[descriptor.options.culture];
    } else {
      where[descriptor.options.codeName] = fields[descriptor.options.codeName];
      const parent = descriptor.options.parent?.property;
      if (parent && fields[parent] !== undefined) where[parent] = fields[parent];
      const group = descriptor.options.group;
      if (group && fields[group] !== undefined) where[group] = fields[group];
    }
    if (Object.values(where).some((v) => v === undefined || v === null)) {
      throw new IntegrationBusError(
        `The incoming ${meta.className} lacks its natural key (${Object.keys(where).join(', ')}).`,
      );
    }
    if (descriptor.isDocument) return em.findOne(meta.class, where as FilterQuery<object>);
    const site = siteOf(meta, descriptor);
    // null is a key value too: the global object of that code name.
    if (site && fields[site.property] !== undefined) where[site.property] = fields[site.property];
    const found = await em.find(meta.class, where as FilterQuery<object>, { limit: 2 });
    if (found.length > 1) {
      throw new IntegrationBusError(
        `More than one local ${meta.className} has code name "${String(where[descriptor.options.codeName])}" ` +
          'and the task names no site: log it with siteName (or translation data for the site).',
      );
    }
    return found[0] ?? null;
  }

  private async mustExist(
    em: EntityManager,
    meta: EntityMetadata,
    descriptor: IntegrationDescriptor,
    fields: Row,
    taskType: TaskType,
  ): Promise<object> {
    const existing = await this.findExisting(em, meta, descriptor, fields);
    if (!existing)
      throw new IntegrationBusError(`${taskType}: no local ${meta.className} with that natural key exists.`);
    return existing;
  }

  /** The local object a Simple task's foreign key names by its local id, or a `TranslationError`. */
  private async localById(em: EntityManager, prop: EntityProperty, id: unknown): Promise<object> {
    const target = prop.targetMeta!;
    const found = await em.findOne(target.class, id as FilterQuery<object>);
    if (!found) {
      throw new TranslationError(
        `${prop.name}: no local ${target.className} with id ${JSON.stringify(id)} exists ` +
          '(SIMPLE tasks carry local ids: the values prepareInternalObject set).',
      );
    }
    return found;
  }

  /** The local site with that name, or a `TranslationError`. */
  private async localSite(
    em: EntityManager,
    target: EntityMetadata,
    nameProperty: string,
    siteName: string,
  ): Promise<object> {
    const site = await em.findOne(target.class, { [nameProperty]: siteName } as FilterQuery<object>);
    if (!site) throw new TranslationError(`No local site named "${siteName}" exists.`);
    return site;
  }
}

/**
 * Where an entity keeps its site: a relation and the site's name property (`site: 'site.name'`),
 * or a plain property holding the name (`site: 'siteName'`); `undefined` when it declares none.
 */
function siteOf(
  meta: EntityMetadata,
  descriptor: IntegrationDescriptor,
): { property: string; nameProperty?: string; target?: EntityMetadata } | undefined {
  const path = descriptor.options.site;
  if (!path) return undefined;
  const [property, nameProperty, ...rest] = path.split('.');
  const prop = meta.properties[property as keyof typeof meta.properties] as EntityProperty | undefined;
  if (!prop || rest.length > 0) return undefined; // a deeper path cannot be written back
  if (nameProperty === undefined) return prop.kind === ReferenceKind.SCALAR ? { property } : undefined;
  return prop.targetMeta && isToOne(prop) ? { property, nameProperty, target: prop.targetMeta } : undefined;
}

function isToOne(prop: EntityProperty): boolean {
  return prop.kind === ReferenceKind.MANY_TO_ONE || (prop.kind === ReferenceKind.ONE_TO_ONE && !!prop.owner);
}

/** `site.name` + value → `{ site: { name: value } }`. */
function nestedWhere(path: string, value: unknown): Row {
  return path
    .split('.')
    .toReversed()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Row;
}
