/**
 * Names of the events the bus emits through `@nestjs/event-emitter` (SPEC §3.6). Before handlers
 * are awaited and may cancel or change the task; After handlers run once the work is done (for
 * LogInternalTask, once the task is durably committed).
 */
export const IntegrationEvents = {
  LogInternalTask: {
    Before: 'integration.logInternalTask.before',
    After: 'integration.logInternalTask.after',
  },
  LogExternalTask: {
    Before: 'integration.logExternalTask.before',
    After: 'integration.logExternalTask.after',
  },
  ProcessInternalTask: {
    Before: 'integration.processInternalTask.before',
    After: 'integration.processInternalTask.after',
  },
  ProcessExternalTask: {
    Before: 'integration.processExternalTask.before',
    After: 'integration.processExternalTask.after',
  },
} as const;

/** Any event name of `IntegrationEvents`. */
export type IntegrationEventName = (typeof IntegrationEvents)[keyof typeof IntegrationEvents][
  'Before' | 'After'];
