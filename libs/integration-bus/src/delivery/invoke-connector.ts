import type { LoadedConnector } from '../connectors/connector-registry.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { ClaimLostError } from '../errors/claim-lost.error.js';
import { describeError } from '../events/integration-event-publisher.js';
import type { OutgoingTask, ProcessOutcome } from '../connectors/outgoing-task.interface.js';

/** A connector's answer, normalised. */
export interface NormalizedOutcome {
  result: IntegrationProcessResult;
  errorMessage: string | null;
}

const RESULTS = new Set<string>(Object.values(IntegrationProcessResult));

/**
 * Hands a task to the connector method that subscribed to it (or to `processInternalTaskAsync` /
 * `processInternalTaskSync`) and normalises the answer. A thrown exception counts as Error (or the
 * connector's `onThrow`) with its message (R-OUT-6), except a queued task's `ClaimLostError` (see `OutgoingTask.fence`), which is
 * thrown on; an answer that is not a result is an Error naming the method. A method that
 * answers without a promise is answered without one: the drain awaits nothing for it, which keeps
 * a promise and an async frame per task off its hot path.
 */
export function invokeConnector(
  connector: LoadedConnector,
  handler: string | null,
  task: OutgoingTask,
  sync: boolean,
): NormalizedOutcome | Promise<NormalizedOutcome> {
  const name = handler ?? (sync ? 'processInternalTaskSync' : 'processInternalTaskAsync');
  const method = (connector.instance as unknown as Record<string, unknown>)[name];
  const where = `${connector.className}.${name}`;
  if (typeof method !== 'function') {
    return { result: IntegrationProcessResult.Error, errorMessage: `${where} is not a method.` };
  }
  // A queued task's fence refused the write: not an outcome of the task but the end of the run's
  // claim, so it propagates (the task stays queued for the queue's holder); any other throw is Error.
  const failed = (error: unknown): NormalizedOutcome => {
    if (!sync && error instanceof ClaimLostError) throw error;
    return { result: connector.onThrow, errorMessage: describeError(error) };
  };
  let answer: unknown;
  try {
    answer = method.call(connector.instance, task);
  } catch (error) {
    return failed(error);
  }
  if (!isThenable(answer)) return normalize(answer as ProcessOutcome, where);
  return Promise.resolve(answer).then((outcome) => normalize(outcome as ProcessOutcome, where), failed);
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
  const message = typeof outcome === 'object' && outcome !== null ? (outcome.errorMessage ?? null) : null;
  return { result, errorMessage: message };
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
