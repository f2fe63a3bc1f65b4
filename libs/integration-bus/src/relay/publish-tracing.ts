import type * as OpenTelemetry from '@opentelemetry/api';
import type { OutgoingTask } from '../connectors/outgoing-task.interface.js';
import { errorTypeOf } from '../events/message-trace-context.js';
import { busTracer, parseTraceParent, tracingApi } from '../events/trace-context.js';

/** Where a relay publishes one message, for its span (the messaging semantic conventions). */
export interface PublishDestination {
  /** `messaging.system`: `nats`, `rabbitmq`, or the transport's name. */
  system: string;
  /** `messaging.destination.name`: the subject, `{exchange}:{routing key}`, the pattern. */
  name: string;
  /** Attributes of the broker's own (`messaging.rabbitmq.destination.routing_key`). */
  attributes?: OpenTelemetry.Attributes;
}

/** A relay's `publish` span: the context to publish in, and its end. */
export interface PublishSpan {
  /** Runs `fn` with the publish span active: its trace headers, and a broker instrumentation's span, are its. */
  run<T>(fn: () => T): T;
  end(error?: unknown): void;
}

/**
 * Starts the PRODUCER span `publish {destination}` of one relayed task (`messaging.operation.type`
 * `send`), or returns null while tracing is off. Its parent is the active span (the connector's
 * `process {connector}` span, which the bus makes active for the call), else the task's stored
 * `create` span, so that the message's trace headers, written inside `run`, continue the trace of
 * the change. An instrumentation of the broker client (`@opentelemetry/instrumentation-amqplib`)
 * running inside `run` makes its span a child of this one and writes its own context into the
 * headers: the consumer then continues the same trace through it.
 */
export function startPublishSpan(
  task: OutgoingTask,
  messageId: string,
  where: PublishDestination,
): PublishSpan | null {
  const otel = tracingApi();
  if (!otel) return null;
  const active = otel.context.active();
  const stored = otel.trace.getSpanContext(active) ? null : parseTraceParent(otel, task.traceParent);
  const parent = stored ? otel.trace.setSpanContext(active, stored) : active;
  const span = busTracer(otel).startSpan(
    `publish ${where.name}`,
    {
      kind: otel.SpanKind.PRODUCER,
      attributes: {
        'messaging.system': where.system,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': where.name,
        'messaging.message.id': messageId,
        ...(task.id > 0 ? { 'integration_bus.task.id': task.id } : {}),
        ...where.attributes,
      },
    },
    parent,
  );
  const context = otel.trace.setSpan(parent, span);
  return {
    run: (fn) => otel.context.with(context, fn),
    end: (error) => {
      if (error !== undefined) {
        span.setAttribute('error.type', errorTypeOf(error));
        span.setStatus({
          code: otel.SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
      }
      span.end();
    },
  };
}
