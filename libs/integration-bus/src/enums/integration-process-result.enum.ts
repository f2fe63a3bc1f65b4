/** What a connector reports after processing an outgoing task (the table of `reference/001`, §6). */
export enum IntegrationProcessResult {
  /** Processed: the synchronization is removed. */
  OK = 'OK',
  /** Critical error: logged, the connector's run stops at this task. */
  Error = 'ERROR',
  /** Non-critical error: logged, the run goes on, the task stays queued. */
  ErrorAndSkip = 'ERRORANDSKIP',
  /** Not now: the run goes on, the task stays queued for the next run. */
  SkipNow = 'SKIPNOW',
}
