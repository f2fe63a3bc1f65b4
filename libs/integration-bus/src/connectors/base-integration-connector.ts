import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type { TaskDataType } from '../enums/task-data-type.enum.js';
import type { TaskProcessType } from '../enums/task-process-type.enum.js';
import { TaskType } from '../enums/task-type.enum.js';
import type { BatchOutcome, OutgoingTask, ProcessOutcome } from './outgoing-task.interface.js';
import type { AbstractIntegrationSubscription } from '../subscriptions/abstract-integration-subscription.js';
import { DocumentIntegrationSubscription } from '../subscriptions/document-integration-subscription.js';
import { ObjectIntegrationSubscription } from '../subscriptions/object-integration-subscription.js';
import { toSubscription, type SubscriptionInput } from '../subscriptions/subscription-input.js';
import type {
  ExternalDocumentQuery,
  ExternalId,
  ExternalIdLookup,
  ExternalObjectQuery,
} from '../translation/external-id.js';
import { translateToExternal } from '../translation/external-translator.js';
import type { TranslationHelper } from '../translation/translation-helper.js';
import { connectorRuntime } from './connector-runtime.js';

export type { ExternalDocumentQuery, ExternalId, ExternalObjectQuery } from '../translation/external-id.js';

/** Options of the `subscribeTo…` helpers. */
export interface SubscribeHelperOptions {
  siteName?: string | null;
  /** One or several task types; default `All`. */
  taskTypes?: TaskType | TaskType[];
}

/** Identification of a local object, returned by `getInternalObjectParams`. */
export interface InternalObjectParams {
  codeName: string;
  siteName?: string | null;
  parentId?: string | number | null;
  groupId?: string | number | null;
}

/** Identification of a local document, returned by `getInternalDocumentParams`. */
export interface InternalDocumentParams {
  nodeGuid: string;
  cultureCode: string;
  siteName: string;
}

/** Context of `prepareInternalObject`. */
export interface PrepareInternalObjectContext {
  taskType: TaskType;
  dataType: TaskDataType;
  siteName: string | null;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * The base class of every connector. Extend it, mark the class with `@Connector('CodeName')`,
 * subscribe with `@Subscribe` or in `onConnectorInit()`, and override the methods you need.
 */
export abstract class BaseIntegrationConnector implements ExternalIdLookup {
  /** The connector's code name, as given to `@Connector`. */
  get connectorName(): string {
    return connectorRuntime(this).codeName;
  }

  /**
   * Called once at start-up, after the decorators' subscriptions are registered and before any
   * task is logged: the place for imperative `subscribeTo…` calls.
   */
  onConnectorInit(): MaybePromise<void> {}

  /** Processes a queued task. Override it when a class-level subscription is asynchronous. */
  processInternalTaskAsync(task: OutgoingTask): MaybePromise<ProcessOutcome> {
    return {
      result: IntegrationProcessResult.Error,
      errorMessage: `${this.constructor.name} received ${task.taskType} ${task.objectType} but does not override processInternalTaskAsync().`,
    };
  }

  /**
   * Processes a batch of queued tasks, for a connector with `maxBatchSize` above 1 (R-EXT-1): at most
   * one change per object, in queue order. Answer an outcome per task, in the same order (or one for
   * all). Call each task's `fence()` right before the external write, as for one task.
   */
  processInternalTasksAsync(tasks: readonly OutgoingTask[]): MaybePromise<BatchOutcome> {
    return {
      result: IntegrationProcessResult.Error,
      errorMessage: `${this.constructor.name} received a batch of ${tasks.length} tasks (maxBatchSize above 1) but does not override processInternalTasksAsync().`,
    };
  }

  /**
   * Optional recovery probe (R-EXT-2): whether the external system is back. Define it to let a
   * backlog drain as soon as the system recovers instead of waiting out the backoff: while a task of
   * the connector waits for its retry after Error or ErrorAndSkip, the bus calls it every
   * `probeIntervalMs` (on one instance at a time), and when it answers `true` the backing-off tasks
   * become due at once and the queue is woken. A probe that throws, or answers after
   * `callTimeoutMs`, counts as `false`. Keep it cheap and free of side effects (a health endpoint, a
   * `HEAD` request); parked tasks are never touched.
   */
  probe?(): Promise<boolean>;

  /** Processes a task synchronously right after its change commits (`SyncSnapshot`). */
  processInternalTaskSync(task: OutgoingTask): MaybePromise<ProcessOutcome> {
    return {
      result: IntegrationProcessResult.Error,
      errorMessage: `${this.constructor.name} received ${task.taskType} ${task.objectType} but does not override processInternalTaskSync().`,
    };
  }

  /** Returns the external id of a referenced object, for `translateColumnsToExternal`. */
  getExternalObjectId(_query: ExternalObjectQuery): MaybePromise<ExternalId | null> {
    return null;
  }

  /** Returns the external node id (or document id when `returnDocumentId`) of a referenced document. */
  getExternalDocumentId(
    _query: ExternalDocumentQuery,
    _returnDocumentId: boolean,
  ): MaybePromise<ExternalId | null> {
    return null;
  }

  /** Converts an external object into a local integration entity, or `null` to log nothing. */
  prepareInternalObject(_obj: unknown, _context: PrepareInternalObjectContext): MaybePromise<object | null> {
    return null;
  }

  /** Identifies, by code name, the local object an external foreign key points at. */
  getInternalObjectParams(id: ExternalId, objectType: string): MaybePromise<InternalObjectParams | null> {
    throw new Error(
      `${this.constructor.name} must override getInternalObjectParams() to translate ${objectType} ${id}.`,
    );
  }

  /** Identifies, by node GUID, the local document an external foreign key points at. */
  getInternalDocumentParams(id: ExternalId, className: string): MaybePromise<InternalDocumentParams | null> {
    throw new Error(
      `${this.constructor.name} must override getInternalDocumentParams() to translate ${className} ${id}.`,
    );
  }

  /**
   * The object's columns with each foreign key replaced by its external id, found through
   * `getExternalObjectId` / `getExternalDocumentId` from the task's translation records; with
   * `processChildren`, the Snapshot children too (as arrays under their collection names).
   * Recommended order for Snapshot tasks: translate without children, save the main object,
   * translate with children, then process the children. Throws a `TranslationError` when a key
   * points at an object that no longer existed when the task was logged.
   */
  translateColumnsToExternal(
    obj: object,
    translations: TranslationHelper,
    processChildren = false,
  ): Promise<Record<string, unknown>> {
    return translateToExternal(
      this,
      connectorRuntime(this).translationCache,
      obj,
      translations,
      processChildren,
    );
  }

  /**
   * Asks the application at `serverUrl` (its root, e.g. `http://crm-sync.internal:3000`) to process
   * its incoming tasks now, for this bus's `connectorName` argument or for all connectors: a `POST
   * {serverUrl}/{http.path}/notify` with the notify token. The server answers at once and processes
   * in the background (R-IN-5).
   * @returns the HTTP status (202 when accepted); network failures reject
   */
  async requestTasksProcessing(serverUrl: string, connectorName?: string): Promise<number> {
    const { path, token } = connectorRuntime(this).notify;
    const url = new URL(`${serverUrl.replace(/\/+$/, '')}/${path}/notify`);
    if (connectorName) url.searchParams.set('connectorName', connectorName);
    const response = await fetch(url, {
      method: 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    await response.body?.cancel();
    return response.status;
  }

  /** Forgets the external ids cached by `translateColumnsToExternal`. */
  clearInternalTranslations(): void {
    const cache = connectorRuntime(this).translationCache;
    // Only when there is something to forget: `Map.prototype.clear` gives the map a new backing
    // table, allocated in the old generation once the map lives there. The drain calls this after
    // every task (`clearTranslationsAfterEachTask`), and those tables were the largest share of a
    // 1,000,000-task drain's peak RSS: ~130 bytes of old-generation garbage per task.
    if (cache.size > 0) cache.clear();
  }

  /** Registers a subscription whose tasks go to `processInternalTaskAsync` / `processInternalTaskSync`. */
  protected subscribeTo(subscription: SubscriptionInput): void {
    connectorRuntime(this).subscriptions.push({ subscription: toSubscription(subscription) });
  }

  /** Subscribes to one or several object types (`%` wildcards allowed). */
  protected subscribeToObjects(
    processType: TaskProcessType,
    objectTypes: string | string[],
    options: SubscribeHelperOptions = {},
  ): void {
    for (const objectType of toArray(objectTypes)) {
      this.subscribeForEachTaskType(options, (taskType) => {
        return new ObjectIntegrationSubscription({
          processType,
          taskType,
          objectType,
          siteName: options.siteName,
        });
      });
    }
  }

  /** Subscribes to every integration object. */
  protected subscribeToAllObjects(processType: TaskProcessType, options: SubscribeHelperOptions = {}): void {
    this.subscribeForEachTaskType(options, (taskType) => {
      return new ObjectIntegrationSubscription({ processType, taskType, siteName: options.siteName });
    });
  }

  /** Subscribes to documents of one or several classes (`%` wildcards allowed). */
  protected subscribeToDocuments(
    processType: TaskProcessType,
    classNames: string | string[],
    options: SubscribeHelperOptions = {},
  ): void {
    for (const className of toArray(classNames)) {
      this.subscribeForEachTaskType(options, (taskType) => {
        return new DocumentIntegrationSubscription({
          processType,
          taskType,
          className,
          siteName: options.siteName,
        });
      });
    }
  }

  /** Subscribes to every integration document. */
  protected subscribeToAllDocuments(
    processType: TaskProcessType,
    options: SubscribeHelperOptions = {},
  ): void {
    this.subscribeForEachTaskType(options, (taskType) => {
      return new DocumentIntegrationSubscription({ processType, taskType, siteName: options.siteName });
    });
  }

  private subscribeForEachTaskType(
    options: SubscribeHelperOptions,
    create: (taskType: TaskType) => AbstractIntegrationSubscription,
  ): void {
    for (const taskType of toArray(options.taskTypes ?? TaskType.All)) {
      this.subscribeTo(create(taskType));
    }
  }
}

function toArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}
