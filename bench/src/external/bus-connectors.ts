import { performance } from 'node:perf_hooks';
import type { Type } from '@nestjs/common';
import {
  BaseIntegrationConnector,
  Connector,
  IntegrationProcessResult,
  Subscribe,
  type BatchOutcome,
  type ConnectorOptions,
  type OutgoingTask,
  type ProcessOutcome,
} from 'nestjs-integration-bus';
import { BenchUser } from '../host/bench-user.entity.js';
import { MAX_RECORDS_PER_REQUEST, postRecords, type PostAnswer } from './service-client.js';

/** The bus's configurations in the `external` scenario. */
export type ExternalBusVariant = 'one-task' | 'batch' | 'batch-object' | 'batch-rate-limited';

/** Code name of the connector to the external service, in every variant. */
export const EXTERNAL_CONNECTOR = 'ExternalService';

/** Told of every answer of the service, for the worker's own counts. */
export type AnswerListener = (answer: PostAnswer, call: CallTiming) => void;

/** One call of the connector, timed (`performance.now()`). */
export interface CallTiming {
  records: number;
  /** When the bus called the handler. */
  startedAt: number;
  /** When the records were built from the tasks (`task.object`) and the request went out. */
  sentAt: number;
  /** When the answer was in. */
  answeredAt: number;
}

/**
 * What a 429 becomes (R-EXT-2): the connector waits the `Retry-After` the service gave, the whole
 * connector paused, rather than on the retry backoff.
 */
function tooManyRequests(answer: Extract<PostAnswer, { ok: false }>): ProcessOutcome {
  return {
    result: IntegrationProcessResult.Error,
    errorMessage: answer.message,
    retryAfterMs: answer.retryAfterMs ?? 1000,
    pauseConnector: true,
  };
}

/** The outcome of one request, for every task it carried. */
function outcomeOf(answer: PostAnswer): ProcessOutcome {
  if (answer.ok) return IntegrationProcessResult.OK;
  if (answer.status === 429) return tooManyRequests(answer);
  return { result: IntegrationProcessResult.Error, errorMessage: answer.message };
}

/**
 * The connector of a variant, written as a user would: a method subscribed to `BenchUser` that
 * sends the changed user's id with `task.sequence` as its version (the service keeps the highest
 * per key, so a late write cannot overwrite a newer one). One task per call, or with
 * `maxBatchSize: 100` (the service's bulk limit) one request per batch.
 */
export function externalConnector(
  variant: ExternalBusVariant,
  serviceUrl: string,
  onAnswer: AnswerListener = () => {},
): Type<BaseIntegrationConnector> {
  const send = async (tasks: readonly OutgoingTask<BenchUser>[]): Promise<ProcessOutcome> => {
    const startedAt = performance.now();
    const records = tasks.map((task) => ({ key: task.object.id, version: task.sequence }));
    for (const task of tasks) task.fence();
    const sentAt = performance.now();
    const answer = await postRecords(serviceUrl, records, tasks[0]?.signal);
    onAnswer(answer, { records: records.length, startedAt, sentAt, answeredAt: performance.now() });
    return outcomeOf(answer);
  };

  if (variant === 'one-task') {
    @Connector(EXTERNAL_CONNECTOR)
    class OneTaskConnector extends BaseIntegrationConnector {
      @Subscribe({ entity: BenchUser })
      users(task: OutgoingTask<BenchUser>): Promise<ProcessOutcome> {
        return send([task]);
      }
    }
    return OneTaskConnector;
  }

  const options: Record<Exclude<ExternalBusVariant, 'one-task'>, ConnectorOptions> = {
    // Two requests under way at once, so the service's 20 ms are paid once per two calls, paced a
    // little below its quota of 50 a wall-clock second (a request's arrival is a timer's lateness
    // after its slot: at exactly 50/s one second in a few would catch a 51st).
    batch: {
      maxBatchSize: MAX_RECORDS_PER_REQUEST,
      maxCallsInFlight: 2,
      rateLimit: { requests: 49, perMs: 1000 },
    },
    'batch-object': { maxBatchSize: MAX_RECORDS_PER_REQUEST, ordering: 'object' },
    // At most 50 calls a second across every instance: the service's quota.
    'batch-rate-limited': { maxBatchSize: MAX_RECORDS_PER_REQUEST, rateLimit: { requests: 50, perMs: 1000 } },
  };

  @Connector(EXTERNAL_CONNECTOR, options[variant])
  class BatchConnector extends BaseIntegrationConnector {
    /** At most one change per user, in queue order: one request, its outcome for every task. */
    @Subscribe({ entity: BenchUser })
    users(tasks: readonly OutgoingTask<BenchUser>[]): Promise<BatchOutcome> {
      return send(tasks);
    }
  }
  return BatchConnector;
}
