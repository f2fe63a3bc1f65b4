import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import type { ProcessOutcome } from './outgoing-task.interface.js';

/** A result with its message, as the helpers below build it. */
export type ProcessOutcomeWithMessage = Exclude<ProcessOutcome, IntegrationProcessResult>;

/**
 * "Not now": the task stays queued as `skipped` with `message` (shown in the admin page and the
 * task's sync log), the run goes on with the next tasks, and the task is offered again at its retry
 * (see `retry.skipNow`). Not a failure.
 */
export function skipNow(message?: string): ProcessOutcomeWithMessage {
  return message === undefined
    ? { result: IntegrationProcessResult.SkipNow }
    : { result: IntegrationProcessResult.SkipNow, errorMessage: message };
}

/**
 * A failure that does not hold the queue: `message` goes to the task's sync log, the run goes on
 * with the next tasks, and the task is retried on the backoff, counting towards `retry.maxAttempts`.
 */
export function errorAndSkip(message: string): ProcessOutcomeWithMessage {
  return { result: IntegrationProcessResult.ErrorAndSkip, errorMessage: message };
}
