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
import { TaskType } from '../enums/task-type.enum.js';
import { IntegrationBusError } from '../errors/integration-bus.error.js';
import { TranslationError } from '../errors/translation.error.js';
import { getIntegrationDescriptor, type IntegrationDescriptor } from '../metadata/integration-subject.js';
import type { QueuedSynchronization } from '../persistence/task.store.js';
import type { TaskPayload } from '../persistence/task-payload.js';
import type { TranslationRecord } from '../translation/translation-record.js';
import { runAsIncomingFrom } from './incoming-origin.js';

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
        await this.applyTaskType(em, meta, descriptor, task.taskType, payload, task.siteName);
      }),
    );
  }

  private async applyTaskType(
    em: EntityManager,
    meta: EntityMetadata,
    descriptor: IntegrationDescriptor,
    taskType: TaskType,
    payload: TaskPayload,
    siteName: string | null,
  ): Promise<void> {
    const fields = await this.localFields(em, meta, payload);
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
        const existing = await this.mustExist(em, meta, descriptor, fields, taskType);
        await this.setSite(em, meta, descriptor, existing, taskType === TaskType.AddToSite ? siteName : null);
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
  private async localFields(em: EntityManager, meta: EntityMetadata, payload: TaskPayload): Promise<Row> {
    const fields: Row = {};
    const records = new Map(payload.translations.map((r) => [r.property, r]));
    for (const prop of meta.props) {
      if (!(prop.name in payload.fields) || prop.primary) continue;
      const value = payload.fields[prop.name];
      if (prop.kind === ReferenceKind.SCALAR || prop.kind === ReferenceKind.EMBEDDED) {
        fields[prop.name] =
          prop.runtimeType === 'Date' && typeof value === 'string' ? new Date(value) : value;
      } else if (isToOne(prop)) {
        // Without a translation record the key is an external id, meaningless here: leave it out.
        const record = records.get(prop.name);
        if (value === null) fields[prop.name] = null;
        else if (record) fields[prop.name] = await this.localReference(em, prop, record);
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
        const childFields = await this.localFields(em, prop.targetMeta, child);
        childFields[prop.mappedBy] = entity;
        em.create(prop.targetMeta.class, childFields as never);
      }
    }
  }

  /** The local entity with the natural key of `fields`: code name (+ site, parent, group) or node GUID + culture. */
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
    return em.findOne(meta.class, where as FilterQuery<object>);
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

  /** AddToSite / RemoveFromSite: points the site relation (`site.name`-style path) at the site. */
  private async setSite(
    em: EntityManager,
    meta: EntityMetadata,
    descriptor: IntegrationDescriptor,
    entity: object,
    siteName: string | null,
  ): Promise<void> {
    const [relation, nameProp] = (descriptor.options.site ?? '').split('.');
    const prop = relation
      ? (meta.properties[relation as keyof typeof meta.properties] as EntityProperty)
      : undefined;
    if (!prop?.targetMeta || !nameProp) {
      throw new IntegrationBusError(
        `${meta.className} has no site relation (declare site: 'relation.name').`,
      );
    }
    let site: object | null = null;
    if (siteName) {
      site = await em.findOne(prop.targetMeta.class, { [nameProp]: siteName } as FilterQuery<object>);
      if (!site) throw new TranslationError(`No local site named "${siteName}" exists.`);
    }
    em.assign(entity, { [relation!]: site } as never);
  }
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
