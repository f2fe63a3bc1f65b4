import { Inject, Injectable } from '@nestjs/common';
import { DriverException, MikroORM } from '@mikro-orm/core';
import { ConnectorRegistry } from '../connectors/connector-registry.js';
import { ConnectorDisabledError } from '../errors/connector-disabled.error.js';
import { ConnectorNotFoundError } from '../errors/connector-not-found.error.js';
import { InvalidResyncError } from '../errors/invalid-resync.error.js';
import { ResyncConflictError } from '../errors/resync-conflict.error.js';
import { ResyncNotFoundError } from '../errors/resync-not-found.error.js';
import { BUS_EVENT_SOURCE, BusEventCodes } from '../events/bus-event-codes.js';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { EventLogStore } from '../persistence/event-log.store.js';
import { checkResyncWhere } from './resync-filter.js';
import { progressOf, type ResyncOptions, type ResyncProgress } from './resync-progress.js';
import { ResyncRunner } from './resync-runner.js';
import { mayMatch } from './resync-subscription.js';
import { allOf, resolveResyncTarget } from './resync-target.js';
import { ResyncStore, isUniqueViolation } from './resync.store.js';

/** Rows per chunk when the caller does not say. */
export const DEFAULT_RESYNC_CHUNK_SIZE = 1000;
/** The largest chunk: one transaction holds a share lock on each of its rows. */
export const MAX_RESYNC_CHUNK_SIZE = 10_000;
/** Resyncs a list shows at most. */
const LIST_LIMIT = 100;

/**
 * Starts, cancels and reports resyncs (R-RES-1) for `IntegrationBus` and the management API: the
 * checks before anything is written, then the row that makes the resync resumable, run by
 * `ResyncRunner`.
 */
@Injectable()
export class ResyncService {
  constructor(
    private readonly orm: MikroORM,
    private readonly registry: ConnectorRegistry,
    private readonly store: ResyncStore,
    private readonly runner: ResyncRunner,
    private readonly eventLog: EventLogStore,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {}

  /**
   * Starts a resync of every row of `options.objectType` (those `where` selects) for one connector.
   * @throws ConnectorNotFoundError, ConnectorDisabledError, InvalidResyncError naming the field at
   *   fault, ResyncConflictError when one of this connector and object type is running
   */
  async start(connectorName: string, options: ResyncOptions): Promise<ResyncProgress> {
    const connector = this.registry.get(connectorName);
    const row = await this.registry.row(connectorName);
    if (!row) throw new ConnectorNotFoundError(connectorName);
    if (!row.enabled) throw new ConnectorDisabledError(connectorName);
    if (typeof options?.objectType !== 'string' || options.objectType.trim() === '') {
      throw new InvalidResyncError('objectType', 'must be a non-empty string');
    }
    if (options.objectType.length > 200)
      throw new InvalidResyncError('objectType', 'must be at most 200 characters');
    const chunkSize = options.chunkSize ?? DEFAULT_RESYNC_CHUNK_SIZE;
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_RESYNC_CHUNK_SIZE) {
      throw new InvalidResyncError('chunkSize', `must be an integer from 1 to ${MAX_RESYNC_CHUNK_SIZE}`);
    }
    const target = resolveResyncTarget(this.orm.getMetadata(), options.objectType);
    if (!connector.subscriptions.some((s) => mayMatch(s, target))) {
      throw new InvalidResyncError(
        'objectType',
        `"${options.objectType}" is not subscribed to by connector "${connectorName}" (for its updates)`,
      );
    }
    const where =
      options.where === undefined || options.where === null
        ? undefined
        : checkResyncWhere(target.meta, options.where);
    const total = await this.count(target.meta.class, allOf(target.base, where));
    let created: { id: number; epoch: string };
    try {
      created = await this.store.create({
        connectorId: row.id,
        objectType: target.objectType,
        where: (where as Record<string, unknown> | undefined) ?? null,
        chunkSize,
        total,
        owner: this.runner.owner,
        leaseMs: this.options.leaseMs,
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ResyncConflictError(connectorName, target.objectType);
      throw error;
    }
    this.runner.start(created.id, created.epoch);
    await this.eventLog.write({
      level: 'info',
      source: BUS_EVENT_SOURCE,
      eventCode: BusEventCodes.ResyncStarted,
      message: `Resync ${created.id} of ${target.objectType} for ${connectorName} started: ${total} row(s)${
        where ? ` matching ${JSON.stringify(where)}` : ''
      }, ${chunkSize} per chunk.`,
      connectorName,
    });
    return this.get(created.id);
  }

  /**
   * Cancels the running resync of an object type for a connector. The chunk under way rolls back;
   * the tasks of the chunks done stay queued.
   * @throws ConnectorNotFoundError, ResyncNotFoundError when none is running
   */
  async cancel(connectorName: string, objectType: string): Promise<ResyncProgress> {
    const row = await this.registry.row(connectorName);
    if (!row) throw new ConnectorNotFoundError(connectorName);
    const id =
      typeof objectType === 'string' ? await this.store.cancel(row.id, objectType.toLowerCase()) : undefined;
    if (id === undefined) throw new ResyncNotFoundError(connectorName, String(objectType));
    this.runner.stop(id);
    await this.eventLog.write({
      level: 'info',
      source: BUS_EVENT_SOURCE,
      eventCode: BusEventCodes.ResyncCancelled,
      message: `Resync ${id} of ${objectType.toLowerCase()} for ${connectorName} cancelled.`,
      connectorName,
    });
    return this.get(id);
  }

  /** One resync's progress. @throws ResyncNotFoundError */
  async get(id: number): Promise<ResyncProgress> {
    const record = await this.store.get(id);
    if (!record) throw new ResyncNotFoundError(`#${id}`, null);
    return progressOf(record);
  }

  /**
   * The resyncs of one connector, or of all, newest first (the last 100).
   * @throws ConnectorNotFoundError for a connector with no row
   */
  async list(connectorName?: string): Promise<ResyncProgress[]> {
    let connectorId: number | undefined;
    if (connectorName !== undefined) {
      const row = await this.registry.row(connectorName);
      if (!row) throw new ConnectorNotFoundError(connectorName);
      connectorId = row.id;
    }
    return (await this.store.list(connectorId, LIST_LIMIT)).map(progressOf);
  }

  /** The running resyncs (for the metrics). */
  async running(): Promise<ResyncProgress[]> {
    return (await this.store.running()).map(progressOf);
  }

  /**
   * The rows to do. A filter the database refuses (a value of the wrong type for its column, say)
   * is the caller's mistake: a 400 naming `where`.
   */
  private async count(entity: object, filter: object): Promise<number> {
    try {
      return await this.orm.em.fork().count(entity as never, filter as never);
    } catch (error) {
      if (error instanceof DriverException) {
        // MikroORM's message is the statement, then " - ", then PostgreSQL's own words.
        const reason = error.message.split(' - ').at(-1)?.split('\n')[0] ?? error.message;
        throw new InvalidResyncError('where', `is not a filter the database accepts: ${reason}`);
      }
      throw error;
    }
  }
}
