import type { LoadedConnector } from '../connectors/connector-registry.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { describeError } from '../events/integration-event-publisher.js';
import type { OutgoingTask, ProcessOutcome } from './outgoing-task.interface.js';

/** A connector's answer, normalised. */
export interface NormalizedOutcome {
  result: IntegrationProcessResult;
  errorMessage: string | null;
}

const RESULTS = new Set<string>(Object.values(IntegrationProcessResult));

/**
 * Hands a task to the connector method that subscribed to it (or to `processInternalTaskAsync` /
 * `processInternalTaskSync`) and normalises the answer. A thrown exception counts as Error with its
 * message (R-OUT-6); an answer that is not a result is an Error naming the method.
 */
export async function invokeConnector(
  connector: LoadedConnector,
  handler: string | null,
  task: OutgoingTask,
  sync: boolean,
): Promise<NormalizedOutcome> {
  const name = handler ?? (sync ? 'processInternalTaskSync' : 'processInternalTaskAsync');
  const method = (connector.instance as unknown as Record<string, unknown>)[name];
  if (typeof method !== 'function') {
    return {
      result: IntegrationProcessResult.Error,
      errorMessage: `${connector.className}.${name} is not a method.`,
    };
  }
  try {
    return normalize(
      (await method.call(connector.instance, task)) as ProcessOutcome,
      `${connector.className}.${name}`,
    );
  } catch (error) {
    return { result: IntegrationProcessResult.Error, errorMessage: describeError(error) };
  }
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
