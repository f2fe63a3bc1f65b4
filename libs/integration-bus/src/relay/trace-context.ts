import type { OutgoingTask } from '../connectors/outgoing-task.interface.js';
import { traceHeadersOfContext } from '../events/message-trace-context.js';
import { tracingApi } from '../events/trace-context.js';

/**
 * Writes the trace context of a relayed task into its message headers (W3C `traceparent`,
 * `tracestate`, or whatever the tracing setup uses), so that a consumer's spans join the trace
 * the task belongs to (R-ECO-2, R-ECO-4).
 *
 * With a tracer provider registered, the relay publishes inside a `publish {destination}` span and
 * the headers carry that span's context, written by the registered propagator (W3C by default).
 * An injector replaces that: the OpenTelemetry integration (or the host) registers one with
 * `setRelayTraceContextInjector`, or a relay takes its own through its `traceContext` option, which
 * wins; it is called with the publish span active (`context.active()`), so it can write that
 * span's context in its own format. Without tracing and without an injector, the context stored
 * with the task when it was logged (`task.traceParent`) is sent as `traceparent`, if there is one.
 */
export type RelayTraceContextInjector = (task: OutgoingTask) => Readonly<Record<string, string>> | undefined;

let registeredInjector: RelayTraceContextInjector | null = null;

/** Registers the injector every relay uses unless given its own; `null` removes it. */
export function setRelayTraceContextInjector(injector: RelayTraceContextInjector | null): void {
  registeredInjector = injector;
}

/**
 * The trace headers of a task: from the relay's own injector, else the registered one, else the
 * active span's context (the publish span) when tracing, else the task's stored `traceparent`.
 */
export function traceHeadersOf(
  task: OutgoingTask,
  own: RelayTraceContextInjector | undefined,
): Readonly<Record<string, string>> {
  const injector = own ?? registeredInjector;
  if (injector) return injector(task) ?? {};
  const otel = tracingApi();
  if (otel) {
    const headers = traceHeadersOfContext(otel, otel.context.active());
    if (Object.keys(headers).length > 0) return headers;
  }
  return task.traceParent ? { traceparent: task.traceParent } : {};
}
