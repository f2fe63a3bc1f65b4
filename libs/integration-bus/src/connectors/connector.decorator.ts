import { Injectable, SetMetadata, applyDecorators } from '@nestjs/common';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { InvalidConnectorError } from '../errors/invalid-connector.error.js';
import { CONNECTOR_METADATA } from '../integration-bus.constants.js';
import { RetryPolicy, type RetryOptions } from './retry-policy.js';

/** Options of `@Connector`. */
export interface ConnectorOptions {
  /** Name shown in the admin page. Default: the code name. */
  displayName?: string;
  /** Whether the connector row is created enabled (an existing row keeps its own). Default: `true`. */
  enabled?: boolean;
  /**
   * Forget the external ids cached by `translateColumnsToExternal` after each task, so code-name
   * collisions between tasks cannot leak. Default: `true`.
   */
  clearTranslationsAfterEachTask?: boolean;
  /**
   * Longest a call of one of the connector's handlers may take, in milliseconds. A call that takes
   * longer counts as Error ("timed out after N ms"), its task is retried by the retry policy, and
   * the run goes on as after any Error (R-DEL-4). The task's `signal` is aborted at that moment, so
   * a handler that passes it to `fetch` or its client stops waiting too. @default 60000
   */
  callTimeoutMs?: number;
  /**
   * What a handler that throws answers, with the error's message for the sync log (R-OUT-6).
   * `Error` holds the connector's later tasks until the retry; `ErrorAndSkip` logs it and goes on
   * with the next tasks, which suits a handler whose throws mean "this row could not be sent now"
   * (an unreachable service, a refused request). A timeout is an Error either way, and a
   * `ClaimLostError` from `task.fence()` is never an answer. @default IntegrationProcessResult.Error
   */
  onThrow?: ThrownErrorResult;
  /** How failed and postponed tasks are tried again, and when they are parked (R-DEL-5, R-DEL-6). */
  retry?: RetryOptions;
  /**
   * Tasks handed over in one call (R-EXT-1). Above 1 the connector is a batch connector: its queued
   * tasks reach `processInternalTasksAsync(tasks)` (class-level subscriptions) or the subscribed
   * method as an array, and it answers an outcome per task. A batch is a prefix of the queue (of a
   * partition with `ordering: 'object'`) holding at most one change per object, all for one handler.
   * Synchronous (`SyncSnapshot`) tasks still come one at a time. @default 1 (1–1000)
   */
  maxBatchSize?: number;
  /**
   * With `maxBatchSize` above 1: how long a batch that found fewer tasks queued than
   * `maxBatchSize` waits for more before it is handed over, in milliseconds. It trades latency for
   * fuller batches under a trickle of changes. @default 0 (0–60000)
   */
  maxBatchWaitMs?: number;
  /**
   * With `maxBatchSize` above 1: how many of the connector's calls may be under way at once. With 2
   * the next call starts once the one before has been handed its tasks, not once it has answered, so
   * the external system's latency is paid once for two calls. The second call holds no object of the
   * first, so per-object order holds (R-DEL-1) whichever request the system takes first; with
   * `ordering: 'connector'` an Error in the first call holds behind it every task of the second that
   * was not answered OK, as it does the tasks after an Error within one call (R-EXT-1). For a system
   * that takes concurrent requests; under a quota, pair it with `rateLimit`. Not with `coalesce`.
   * @default 1 (1–2)
   */
  maxCallsInFlight?: number;
  /**
   * At most `requests` calls per `perMs` milliseconds, counted across every instance sharing the
   * database, not per process (R-EXT-2): calls start at least `perMs / requests` apart. A batch call
   * is one call. It costs one round trip per call, and nothing without it. @default none
   */
  rateLimit?: RateLimit;
  /**
   * What one FIFO covers (R-ORD-1). `'connector'`: the whole connector, as in the original bus; an
   * Error stops all of its later tasks until the retry. `'object'`: each object (object type and
   * key, or document node); an Error holds only that object's later tasks while the others flow,
   * and the queue is split into `partitions` that instances process side by side. @default 'connector'
   */
  ordering?: ConnectorOrdering;
  /**
   * With `ordering: 'object'`: how many partitions the queue is split into by a hash of the object
   * key, each claimed by one instance at a time (R-ORD-2). The most instances that can share the
   * connector. Changing it re-partitions the queued tasks at the next start. @default 16
   */
  partitions?: number;
  /** With `ordering: 'object'`: how many partitions one instance processes at once. @default 4 */
  concurrency?: number;
  /**
   * How often the connector's `probe()` is asked whether the external system is back, in
   * milliseconds, while the connector waits out the backoff of a failed task (R-EXT-2): a task that
   * answered Error or ErrorAndSkip with `ordering: 'connector'`, or any partition's with `ordering:
   * 'object'`. Only for a connector that defines `probe()`; one instance probes at a time.
   * @default 1000 (50–3600000)
   */
  probeIntervalMs?: number;
  /**
   * `'latest'` coalesces the queue (R-EXT-3): of several queued changes of one object, only the
   * latest is delivered; the earlier ones are superseded (deleted, counted in
   * `integration_bus_tasks_superseded_total`, an event-log entry each) and never delivered after it.
   * Only for connectors whose subscriptions all carry whole objects (`AsyncSnapshot`,
   * `AsyncSimpleSnapshot`, `SyncSnapshot`): start-up fails with an `InvalidConnectorError` otherwise.
   * The delivered task keeps its own task type, so handlers should upsert (an object created and then
   * updated during an outage arrives as its last Update). A connector option, not a subscription's:
   * "latest" is decided per object over the connector's whole queue, whichever handler a change
   * goes to. @default none
   */
  coalesce?: ConnectorCoalescing;
}

/** How a connector's queued changes of one object are coalesced (see `ConnectorOptions.coalesce`). */
export type ConnectorCoalescing = 'latest';

/** A connector's pace (see `ConnectorOptions.rateLimit`). */
export interface RateLimit {
  /** Calls allowed per `perMs` (1–100000). */
  requests: number;
  /** The window, in milliseconds (1–86400000). */
  perMs: number;
}

/** The results a thrown error may stand for (see `ConnectorOptions.onThrow`). */
export type ThrownErrorResult = IntegrationProcessResult.Error | IntegrationProcessResult.ErrorAndSkip;

/** What one FIFO of a connector covers (see `ConnectorOptions.ordering`). */
export type ConnectorOrdering = 'connector' | 'object';

/** Metadata `@Connector` stores on the class. */
export interface ConnectorMetadata extends Required<
  Omit<ConnectorOptions, 'retry' | 'rateLimit' | 'coalesce'>
> {
  codeName: string;
  retry: RetryPolicy;
  rateLimit: RateLimit | null;
  coalesce: ConnectorCoalescing | null;
}

/**
 * Marks a provider as an integration connector. The class must extend `BaseIntegrationConnector`
 * and be listed in a module's providers; the code name must be unique. Options that cannot work (a
 * negative timeout, `retry.maxAttempts: 0`, …) throw an `InvalidConnectorError` naming the connector
 * and the option, when the class is declared.
 */
export function Connector(codeName: string, options: ConnectorOptions = {}): ClassDecorator {
  if (typeof codeName !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(codeName)) {
    throw new TypeError(
      `@Connector() needs a code name of 1-100 letters, digits, '_', '.' or '-'; got ${JSON.stringify(codeName)}.`,
    );
  }
  const where = `@Connector('${codeName}')`;
  const callTimeoutMs = options.callTimeoutMs ?? 60_000;
  if (!Number.isInteger(callTimeoutMs) || callTimeoutMs < 1 || callTimeoutMs > 86_400_000) {
    throw new InvalidConnectorError(
      `${where}: callTimeoutMs must be an integer from 1 to 86400000 (milliseconds), got ${JSON.stringify(options.callTimeoutMs)}.`,
    );
  }
  const ordering = options.ordering ?? 'connector';
  if (ordering !== 'connector' && ordering !== 'object') {
    throw new InvalidConnectorError(
      `${where}: ordering must be 'connector' or 'object', got ${JSON.stringify(options.ordering)}.`,
    );
  }
  if (ordering === 'connector' && (options.partitions !== undefined || options.concurrency !== undefined)) {
    throw new InvalidConnectorError(
      `${where}: partitions and concurrency apply only with ordering: 'object' (one FIFO per connector has one partition).`,
    );
  }
  const onThrow = options.onThrow ?? IntegrationProcessResult.Error;
  if (onThrow !== IntegrationProcessResult.Error && onThrow !== IntegrationProcessResult.ErrorAndSkip) {
    throw new InvalidConnectorError(
      `${where}: onThrow must be IntegrationProcessResult.Error or IntegrationProcessResult.ErrorAndSkip, got ${JSON.stringify(options.onThrow)}.`,
    );
  }
  const maxBatchSize = boundedInteger(where, 'maxBatchSize', options.maxBatchSize, 1, 1, 1000);
  const maxBatchWaitMs = boundedInteger(where, 'maxBatchWaitMs', options.maxBatchWaitMs, 0, 0, 60_000);
  if (maxBatchWaitMs > 0 && maxBatchSize === 1) {
    throw new InvalidConnectorError(
      `${where}: maxBatchWaitMs applies only to a batch connector (maxBatchSize above 1).`,
    );
  }
  const maxCallsInFlight = boundedInteger(where, 'maxCallsInFlight', options.maxCallsInFlight, 1, 1, 2);
  if (maxCallsInFlight > 1 && maxBatchSize === 1) {
    throw new InvalidConnectorError(
      `${where}: maxCallsInFlight applies only to a batch connector (maxBatchSize above 1).`,
    );
  }
  if (maxCallsInFlight > 1 && options.coalesce !== undefined) {
    throw new InvalidConnectorError(
      `${where}: maxCallsInFlight above 1 does not combine with coalesce (what supersedes what is decided per call).`,
    );
  }
  const rateLimit = checkedRateLimit(where, options.rateLimit);
  const partitions = boundedInteger(where, 'partitions', options.partitions, 16, 1, 1024);
  const concurrency = boundedInteger(where, 'concurrency', options.concurrency, 4, 1, 64);
  const probeIntervalMs = boundedInteger(
    where,
    'probeIntervalMs',
    options.probeIntervalMs,
    1000,
    50,
    3_600_000,
  );
  if (options.coalesce !== undefined && options.coalesce !== 'latest') {
    throw new InvalidConnectorError(
      `${where}: coalesce must be 'latest' (or left out), got ${JSON.stringify(options.coalesce)}.`,
    );
  }
  const metadata: ConnectorMetadata = {
    codeName,
    displayName: options.displayName ?? codeName,
    enabled: options.enabled ?? true,
    clearTranslationsAfterEachTask: options.clearTranslationsAfterEachTask ?? true,
    callTimeoutMs,
    onThrow,
    maxBatchSize,
    maxBatchWaitMs,
    maxCallsInFlight,
    rateLimit,
    retry: new RetryPolicy(options.retry, where),
    ordering,
    // One FIFO per connector is one partition, processed by one instance at a time.
    partitions: ordering === 'object' ? partitions : 1,
    concurrency: ordering === 'object' ? concurrency : 1,
    probeIntervalMs,
    coalesce: options.coalesce ?? null,
  };
  return applyDecorators(Injectable(), SetMetadata(CONNECTOR_METADATA, metadata));
}

function checkedRateLimit(where: string, rateLimit: RateLimit | undefined): RateLimit | null {
  if (rateLimit === undefined) return null;
  if (typeof rateLimit !== 'object' || rateLimit === null) {
    throw new InvalidConnectorError(
      `${where}: rateLimit must be an object { requests, perMs }, got ${JSON.stringify(rateLimit)}.`,
    );
  }
  return {
    requests: boundedInteger(where, 'rateLimit.requests', rateLimit.requests, Number.NaN, 1, 100_000),
    perMs: boundedInteger(where, 'rateLimit.perMs', rateLimit.perMs, Number.NaN, 1, 86_400_000),
  };
}

function boundedInteger(
  where: string,
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < min || chosen > max) {
    throw new InvalidConnectorError(
      `${where}: ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}.`,
    );
  }
  return chosen;
}
