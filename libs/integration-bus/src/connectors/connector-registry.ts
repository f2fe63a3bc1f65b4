import { Inject, Injectable, Logger } from '@nestjs/common';
import { RESOLVED_OPTIONS } from '../integration-bus.module-definition.js';
import type { ResolvedIntegrationBusOptions } from '../interfaces/integration-bus-options.interface.js';
import { TaskDataType } from '../enums/task-data-type.enum.js';
import { dataTypeOf, processTypePriority, type TaskProcessType } from '../enums/task-process-type.enum.js';
import type { TaskType } from '../enums/task-type.enum.js';
import { ConnectorNotFoundError } from '../errors/connector-not-found.error.js';
import { describeError } from '../events/integration-event-publisher.js';
import type { IntegrationSubject } from '../metadata/integration-subject.js';
import { ConnectorStore, type ConnectorRecord } from '../persistence/connector.store.js';
import { FlowControlStore } from '../persistence/flow-control.store.js';
import { PartitionStore } from '../persistence/partition.store.js';
import { RefreshingValue } from '../support/refreshing-value.js';
import type { BaseIntegrationConnector } from './base-integration-connector.js';
import type { RetryPolicy } from './retry-policy.js';
import { InvalidConnectorError } from '../errors/invalid-connector.error.js';
import type {
  ConnectorCoalescing,
  ConnectorMetadata,
  ConnectorOrdering,
  RateLimit,
  ThrownErrorResult,
} from './connector.decorator.js';
import { connectorRuntime, type RegisteredSubscription } from './connector-runtime.js';
import { pipelinesCalls } from './pipelined-calls.js';

/** A connector provider found at start-up. */
export interface LoadedConnector {
  codeName: string;
  displayName: string;
  className: string;
  instance: BaseIntegrationConnector;
  subscriptions: readonly RegisteredSubscription[];
  clearTranslationsAfterEachTask: boolean;
  /** Longest a handler call may take (R-DEL-4). */
  callTimeoutMs: number;
  /** What a handler's throw answers (R-OUT-6). */
  onThrow: ThrownErrorResult;
  /** Queued tasks per call: above 1, a batch connector (R-EXT-1). */
  maxBatchSize: number;
  /** How long a short batch waits for more tasks (R-EXT-1). */
  maxBatchWaitMs: number;
  /** Its pace across instances, or null (R-EXT-2). */
  rateLimit: RateLimit | null;
  /** When failed tasks are tried again and parked (R-DEL-5, R-DEL-6). */
  retry: RetryPolicy;
  /** One FIFO per connector or per object (R-ORD-1). */
  ordering: ConnectorOrdering;
  /** Partitions of the outgoing queue: 1 with `ordering: 'connector'` (R-ORD-2). */
  partitions: number;
  /** Partitions this instance processes at once. */
  concurrency: number;
  /** Whether the provider defines `probe()` (R-EXT-2), decided once at registration. */
  hasProbe: boolean;
  /** How often `probe()` is asked while the connector backs off (R-EXT-2). */
  probeIntervalMs: number;
  /** Whether queued changes of one object are coalesced (R-EXT-3), or null. */
  coalesce: ConnectorCoalescing | null;
  /**
   * How many of a batch connector's calls may be under way at once: its `maxCallsInFlight`, or 2 for
   * a batch relay (`allowPipelinedCalls`); 1 for a connector that takes one task per call.
   */
  maxCallsInFlight: number;
}

/** A connector provider as the explorer found it, with its decorator subscriptions. */
export interface DiscoveredConnector {
  instance: BaseIntegrationConnector;
  metadata: ConnectorMetadata;
  subscriptions: readonly RegisteredSubscription[];
}

/** A connector a change must go to, with the winning subscription's process type and handler. */
export interface ConnectorMatch {
  connector: LoadedConnector;
  connectorId: number;
  processType: TaskProcessType;
  handler: string | null;
}

/** A connector as the API reports it: its row, and whether a provider is loaded for it. */
export interface ConnectorStatus extends ConnectorRecord {
  loaded: boolean;
  notLoadedReason: string | null;
  /** One FIFO per connector or per object (R-ORD-1); null when no provider is loaded. */
  ordering: ConnectorOrdering | null;
  /** Partitions of the outgoing queue (1 with one FIFO); null when no provider is loaded. */
  partitions: number | null;
  /** Tasks per call (above 1: a batch connector, R-EXT-1); null when no provider is loaded. */
  maxBatchSize: number | null;
  /**
   * How many of its calls may be under way at once (R-EXT-1): 2 for a batch connector with
   * `maxCallsInFlight: 2` and for a batch relay, else 1; null when no provider is loaded.
   */
  maxCallsInFlight: number | null;
  /** Its pace across instances (R-EXT-2), or null. */
  rateLimit: RateLimit | null;
  /** Until when an answer with `pauseConnector` paused it (R-EXT-2), as ISO 8601; null when not paused. */
  pausedUntil: string | null;
  /** How often its `probe()` is asked while it backs off (R-EXT-2); null without a probe or provider. */
  probeIntervalMs: number | null;
  /** `'latest'` when queued changes of one object are coalesced (R-EXT-3); else null. */
  coalesce: ConnectorCoalescing | null;
}

/** How long an instance may take to see a connector enabled or disabled elsewhere. */
const ROWS_TTL_MS = 1000;

/** The runtime registry of connectors: loaded providers, their rows, and subscription matching. */
@Injectable()
export class ConnectorRegistry {
  readonly #logger = new Logger('IntegrationBus');
  #loaded = new Map<string, LoadedConnector>();
  #found: readonly DiscoveredConnector[] = [];
  #initializing: Promise<void> = Promise.resolve();
  readonly #rows: RefreshingValue<Map<string, ConnectorRecord>>;

  constructor(
    private readonly store: ConnectorStore,
    private readonly partitions: PartitionStore,
    private readonly flow: FlowControlStore,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedIntegrationBusOptions,
  ) {
    this.#rows = new RefreshingValue(
      async () => new Map((await this.store.list()).map((r) => [r.codeName, r])),
      ROWS_TTL_MS,
    );
  }

  /** Registers discovered connectors, runs their `onConnectorInit`, and creates missing rows (R-SET-2). */
  initialize(found: readonly DiscoveredConnector[]): Promise<void> {
    this.#found = found;
    // One initialisation at a time: `onConnectorInit` adds to a subscription list shared per instance.
    const run = this.#initializing.then(() => this.load(found));
    this.#initializing = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs every connector's `onConnectorInit` again over its decorators' subscriptions, after a
   * connector was added, edited or deleted (R-SET-2). The new set replaces the old one at once, so
   * changes logged meanwhile match the old set. If an `onConnectorInit` fails, the connectors stay
   * as they were and the failure is logged.
   */
  async reinitialize(): Promise<void> {
    try {
      await this.initialize(this.#found);
    } catch (error) {
      this.#logger.error(`Re-initialising the connectors failed: ${describeError(error)}`);
    }
  }

  /** Reads the connector rows again now (another instance changed one). */
  async refreshRows(): Promise<void> {
    await this.#rows.refresh();
  }

  private async load(found: readonly DiscoveredConnector[]): Promise<void> {
    // Build the new map aside and swap it in, so a re-initialisation never leaves a moment with no connector.
    const loaded = new Map<string, LoadedConnector>();
    for (const { instance, metadata, subscriptions } of found) {
      const runtime = connectorRuntime(instance);
      runtime.codeName = metadata.codeName;
      runtime.subscriptions = [...subscriptions];
      runtime.notify = { path: this.options.http.path, token: this.options.http.notifyToken };
      await instance.onConnectorInit();
      if (metadata.coalesce !== null) assertCoalescible(metadata.codeName, runtime.subscriptions);
      loaded.set(metadata.codeName, {
        codeName: metadata.codeName,
        displayName: metadata.displayName,
        className: instance.constructor.name,
        instance,
        subscriptions: runtime.subscriptions,
        clearTranslationsAfterEachTask: metadata.clearTranslationsAfterEachTask,
        callTimeoutMs: metadata.callTimeoutMs,
        onThrow: metadata.onThrow,
        maxBatchSize: metadata.maxBatchSize,
        maxBatchWaitMs: metadata.maxBatchWaitMs,
        rateLimit: metadata.rateLimit,
        retry: metadata.retry,
        ordering: metadata.ordering,
        partitions: metadata.partitions,
        concurrency: metadata.concurrency,
        hasProbe: typeof instance.probe === 'function',
        probeIntervalMs: metadata.probeIntervalMs,
        coalesce: metadata.coalesce,
        maxCallsInFlight:
          metadata.maxBatchSize > 1 && pipelinesCalls(instance) ? 2 : metadata.maxCallsInFlight,
      });
    }
    await this.store.ensure(
      [...found].map(({ instance, metadata }) => ({
        codeName: metadata.codeName,
        displayName: metadata.displayName,
        className: instance.constructor.name,
        enabled: metadata.enabled,
      })),
    );
    const rows = await this.#rows.refresh();
    for (const connector of loaded.values()) {
      const row = rows.get(connector.codeName);
      if (row) await this.partitions.layOut(row.id, storedPartitions(connector));
    }
    this.#loaded = loaded;
    const names = [...this.#loaded.keys()];
    this.#logger.log(`Loaded ${names.length} connector(s)${names.length ? `: ${names.join(', ')}` : ''}`);
  }

  /** Every loaded connector. */
  get loaded(): readonly LoadedConnector[] {
    return [...this.#loaded.values()];
  }

  /** A loaded connector by code name, or a `ConnectorNotFoundError`. */
  get(codeName: string): LoadedConnector {
    const connector = this.#loaded.get(codeName);
    if (!connector) throw new ConnectorNotFoundError(codeName);
    return connector;
  }

  /** The connector's row; `undefined` if it has none. */
  async row(codeName: string): Promise<ConnectorRecord | undefined> {
    return (await this.#rows.get()).get(codeName);
  }

  /** Rows of every connector, loaded or not, with their status. */
  async statuses(): Promise<ConnectorStatus[]> {
    const [rows, paused] = await Promise.all([this.#rows.refresh(), this.flow.paused()]);
    const pausedUntil = new Map(paused.map((p) => [p.connectorId, new Date(p.pausedUntilMs).toISOString()]));
    return [...rows.values()].map((row) => {
      const connector = this.#loaded.get(row.codeName);
      const loaded = connector !== undefined;
      return {
        ...row,
        loaded,
        ordering: connector?.ordering ?? null,
        partitions: connector?.partitions ?? null,
        maxBatchSize: connector?.maxBatchSize ?? null,
        maxCallsInFlight: connector?.maxCallsInFlight ?? null,
        rateLimit: connector?.rateLimit ?? null,
        pausedUntil: pausedUntil.get(row.id) ?? null,
        probeIntervalMs: connector?.hasProbe ? connector.probeIntervalMs : null,
        coalesce: connector?.coalesce ?? null,
        notLoadedReason: loaded
          ? null
          : `No provider decorated with @Connector('${row.codeName}') is registered in this application.`,
      };
    });
  }

  /** Changes a connector's row; the caller re-initialises the connectors (`QueueSignals.reinitializeEverywhere`). */
  async update(
    codeName: string,
    patch: { enabled?: boolean; displayName?: string },
  ): Promise<ConnectorRecord> {
    const row = await this.store.update(codeName, patch);
    if (!row) throw new ConnectorNotFoundError(codeName);
    return row;
  }

  /**
   * The connectors a change goes to (R-OUT-2, R-OUT-3): per enabled connector, among its matching
   * subscriptions the highest-priority process type wins, the first declared on a tie.
   */
  async match(subject: IntegrationSubject, taskType: TaskType, exclude?: string): Promise<ConnectorMatch[]> {
    return (await this.matcher(exclude))(subject, taskType);
  }

  /**
   * A synchronous matcher over the connectors enabled now, for matching every change of a flush
   * without an await per change (the logging hot path).
   */
  async matcher(
    exclude?: string,
  ): Promise<(subject: IntegrationSubject, taskType: TaskType) => ConnectorMatch[]> {
    const rows = await this.#rows.get();
    const candidates = [...this.#loaded.values()].flatMap((connector) => {
      const row = rows.get(connector.codeName);
      return row?.enabled && connector.codeName !== exclude ? [{ connector, connectorId: row.id }] : [];
    });
    return (subject, taskType) => {
      const matches: ConnectorMatch[] = [];
      for (const { connector, connectorId } of candidates) {
        let best: { processType: TaskProcessType; handler: string | null } | undefined;
        for (const { subscription, handler } of connector.subscriptions) {
          const processType = subscription.isMatch(subject, taskType);
          if (
            processType &&
            (!best || processTypePriority(processType) > processTypePriority(best.processType))
          ) {
            best = { processType, handler: handler ?? null };
          }
        }
        if (best) matches.push({ connector, connectorId, ...best });
      }
      return matches;
    };
  }

  /** Enabled loaded connectors with their row ids, for processing. */
  async enabledConnectors(): Promise<EnabledConnector[]> {
    const rows = await this.#rows.get();
    const enabled = this.loaded.flatMap((connector) => {
      const row = rows.get(connector.codeName);
      return row?.enabled ? [{ connector, connectorId: row.id }] : [];
    });
    const sharesTasks = enabled.length > 1;
    return enabled.map((e) => ({ ...e, sharesTasks }));
  }
}

/** A loaded, enabled connector, as processing reads it. */
export interface EnabledConnector {
  connector: LoadedConnector;
  /** Its row's id. */
  connectorId: number;
  /**
   * Whether other connectors are enabled too: a task may then be queued for several of them, and
   * finishing it is a shared write (see `QueueStore.completeAndFetch`).
   */
  sharesTasks: boolean;
}

/**
 * `coalesce: 'latest'` needs tasks that each carry the whole object (R-EXT-3): delivering only the
 * latest of an object's changes loses nothing only then. Checked once the subscriptions of
 * `onConnectorInit` are known, so start-up fails rather than the first delivery.
 */
function assertCoalescible(codeName: string, subscriptions: readonly RegisteredSubscription[]): void {
  const simple = subscriptions.find(
    ({ subscription }) => dataTypeOf(subscription.processType) === TaskDataType.Simple,
  );
  if (!simple) return;
  throw new InvalidConnectorError(
    `@Connector('${codeName}'): coalesce: 'latest' needs subscriptions whose tasks carry the whole object (AsyncSnapshot, AsyncSimpleSnapshot or SyncSnapshot), but ${simple.handler ? `the one of ${simple.handler}()` : 'one'} is ${simple.subscription.processType}: an earlier change's columns would be lost.`,
  );
}

/**
 * How a connector's outgoing queue is laid out in `integration_synchronization.partition`: 0 for one
 * FIFO, else the number of partitions (numbered from 1).
 */
export function storedPartitions(connector: Pick<LoadedConnector, 'ordering' | 'partitions'>): number {
  return connector.ordering === 'object' ? connector.partitions : 0;
}
