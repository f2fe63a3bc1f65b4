import type { OutgoingTask } from '../connectors/outgoing-task.interface.js';

/**
 * Writes the trace context of a relayed task into its message headers (W3C `traceparent`,
 * `tracestate`, or whatever the tracing setup uses), so that a consumer's spans join the trace
 * the task belongs to (R-ECO-2, R-ECO-4).
 *
 * The hook for tracing: the bus ships no tracing library. The OpenTelemetry integration (or the
 * host) registers one injector with `setRelayTraceContextInjector`; a relay may also take its own
 * through its `traceContext` option, which wins. Without either, the context stored with the task
 * when it was logged (`task.traceParent`) is sent as `traceparent`, if there is one.
 */
export type RelayTraceContextInjector = (task: OutgoingTask) => Readonly<Record<string, string>> | undefined;

let registeredInjector: RelayTraceContextInjector | null = null;

/** Registers the injector every relay uses unless given its own; `null` removes it. */
export function setRelayTraceContextInjector(injector: RelayTraceContextInjector | null): void {
  registeredInjector = injector;
}

/**
 * The trace headers of a task: from the relay's own injector, else the registered one, else the
 * task's stored `traceparent`.
 */
export function traceHeadersOf(
  task: OutgoingTask,
  own: RelayTraceContextInjector | undefined,
): Readonly<Record<string, string>> {
  const injector = own ?? registeredInjector;
  if (injector) return injector(task) ?? {};
  return task.traceParent ? { traceparent: task.traceParent } : {};
}
