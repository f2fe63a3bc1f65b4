import type { LoadedConnector } from '../connectors/connector-registry.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { ClaimLostError } from '../errors/claim-lost.error.js';
import { describeError } from '../events/integration-event-publisher.js';
import type { BatchOutcome, OutgoingTask, ProcessOutcome } from '../connectors/outgoing-task.interface.js';

/** A connector's answer, normalised. */
export interface NormalizedOutcome {
  result: IntegrationProcessResult;
  errorMessage: string | null;
  /** When the external system said to come back, in ms (R-EXT-2); absent for the backoff. */
  retryAfterMs?: number;
  /** Pause the whole connector for `retryAfterMs`. */
  pauseConnector?: boolean;
}

const RESULTS = new Set<string>(Object.values(IntegrationProcessResult));

/**
 * Hands a task to the connector method that subscribed to it (or to `processInternalTaskAsync` /
 * `processInternalTaskSync`) and normalises the answer (see `callHandler` for throws); an answer
 * that is not a result is an Error naming the method. A method that answers without a promise is
 * answered without one: the drain awaits nothing for it, which keeps a promise and an async frame
 * per task off its hot path.
 */
export function invokeConnector(
  connector: LoadedConnector,
  handler: string | null,
  task: OutgoingTask,
  sync: boolean,
): NormalizedOutcome | Promise<NormalizedOutcome> {
  const name = handler ?? (sync ? 'processInternalTaskSync' : 'processInternalTaskAsync');
  return callHandler(connector, name, task, !sync, readOne);
}

const readOne = (answer: unknown, where: string): NormalizedOutcome =>
  normalize(answer as ProcessOutcome, where);

/**
 * The same for a batch connector (R-EXT-1): the queued `tasks` go to the subscribed method (or
 * `processInternalTasksAsync`) in one call, and the answer is an outcome per task. A throw answers
 * every task of the batch alike; an answer of the wrong length is an Error for every task.
 */
export function invokeConnectorBatch(
  connector: LoadedConnector,
  handler: string | null,
  tasks: readonly OutgoingTask[],
): NormalizedOutcome[] | Promise<NormalizedOutcome[]> {
  const name = handler ?? 'processInternalTasksAsync';
  const each = (outcome: NormalizedOutcome) => tasks.map(() => outcome);
  return callHandler(
    connector,
    name,
    tasks,
    true,
    (answer, where) => normalizeBatch(answer as BatchOutcome, tasks.length, where),
    each,
  );
}

/**
 * Calls `connector[name](argument)` and normalises its answer with `read`, without a promise when
 * the method answers without one. A thrown exception answers the connector's `onThrow` with its
 * message (R-OUT-6), except a queued task's `ClaimLostError` (see `OutgoingTask.fence`), which is
 * thrown on: not an outcome of the task but the end of the run's claim, so the task stays queued.
 */
function callHandler<T>(
  connector: LoadedConnector,
  name: string,
  argument: unknown,
  queued: boolean,
  read: (answer: unknown, where: string) => T,
  widen: (outcome: NormalizedOutcome) => T = (outcome) => outcome as T,
): T | Promise<T> {
  const method = (connector.instance as unknown as Record<string, unknown>)[name];
  const where = `${connector.className}.${name}`;
  if (typeof method !== 'function') {
    return widen({ result: IntegrationProcessResult.Error, errorMessage: `${where} is not a method.` });
  }
  const failed = (error: unknown): T => {
    if (queued && error instanceof ClaimLostError) throw error;
    return widen({ result: connector.onThrow, errorMessage: describeError(error) });
  };
  let answer: unknown;
  try {
    answer = method.call(connector.instance, argument);
  } catch (error) {
    return failed(error);
  }
  if (!isThenable(answer)) return read(answer, where);
  return Promise.resolve(answer).then((value) => read(value, where), failed);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

function normalize(outcome: ProcessOutcome, where: string): NormalizedOutcome {
  const result = typeof outcome === 'object' && outcome !== null ? outcome.result : outcome;
  if (!RESULTS.has(result as string)) {
    return {
      result: IntegrationProcessResult.Error,
      errorMessage: `${where} returned ${JSON.stringify(outcome)}; expected an IntegrationProcessResult.`,
    };
  }
  if (typeof outcome !== 'object' || outcome === null) return { result, errorMessage: null };
  const normalized: NormalizedOutcome = { result, errorMessage: outcome.errorMessage ?? null };
  const { retryAfterMs, pauseConnector } = outcome;
  if (retryAfterMs === undefined) return normalized;
  if (typeof retryAfterMs !== 'number' || !Number.isFinite(retryAfterMs) || retryAfterMs < 0) {
    return {
      result: IntegrationProcessResult.Error,
      errorMessage: `${where} returned retryAfterMs ${JSON.stringify(retryAfterMs)}; expected a number of milliseconds ≥ 0.`,
    };
  }
  normalized.retryAfterMs = retryAfterMs;
  if (pauseConnector === true) normalized.pauseConnector = true;
  return normalized;
}

function normalizeBatch(answer: BatchOutcome, count: number, where: string): NormalizedOutcome[] {
  if (!Array.isArray(answer)) {
    const outcome = normalize(answer as ProcessOutcome, where);
    return Array.from({ length: count }, () => outcome);
  }
  if (answer.length !== count) {
    const outcome = {
      result: IntegrationProcessResult.Error,
      errorMessage: `${where} answered ${answer.length} outcomes for ${count} tasks; expected one per task, in order.`,
    };
    return Array.from({ length: count }, () => outcome);
  }
  return answer.map((outcome: ProcessOutcome) => normalize(outcome, where));
}

/** A count per result, as processing runs report them. */
export type ResultCounts = Record<IntegrationProcessResult, number>;

/** Counts of zero for every result. */
export function emptyCounts(): ResultCounts {
  return {
    [IntegrationProcessResult.OK]: 0,
    [IntegrationProcessResult.Error]: 0,
    [IntegrationProcessResult.ErrorAndSkip]: 0,
    [IntegrationProcessResult.SkipNow]: 0,
  };
}

/** Adds `more` into `into`. */
export function addCounts(into: ResultCounts, more: ResultCounts): ResultCounts {
  for (const key of Object.keys(into) as IntegrationProcessResult[]) into[key] += more[key];
  return into;
}
