import { contextOfHeaders, errorTypeOf } from '../events/message-trace-context.js';
import { busTracer, MESSAGING_SYSTEM, tracingApi } from '../events/trace-context.js';
import type { BrokerMessage } from './incoming-message.js';

/** The tracing context active where a message was delivered, opaque; undefined without tracing. */
export type DeliveryContext = unknown;

/**
 * The context active now, where the broker client hands a message over: a consumer that handles
 * the message later (in a batch) continues from it, so that an instrumentation's span around the
 * delivery stays the parent of the message's span.
 */
export function deliveryContext(): DeliveryContext {
  return tracingApi()?.context.active();
}

/**
 * Runs the intake of one broker message inside a CONSUMER span `process {destination}` (R-ECO-4,
 * the messaging semantic conventions) that continues the publisher's trace: its parent is the
 * context the message's headers carry (`traceparent`, read by the registered propagator), also
 * given as a link. When an instrumentation of the broker client already continued that trace around
 * the call (`@opentelemetry/instrumentation-amqplib`'s `process` span is then active), the span
 * nests under it instead. The task logged inside gets its `create` span as a child, so the trace
 * runs on to the connector that processes the task. `failed` marks the span failed (`error.type`);
 * without a tracer provider `run` is called as it is. `delivered` is the context where the message
 * was handed over (`deliveryContext`), when it is handled later than that; by default the active one.
 */
export async function traceMessageIntake<T>(
  message: BrokerMessage,
  connectorName: string,
  run: (failed: (error: unknown) => void) => Promise<T>,
  delivered?: DeliveryContext,
): Promise<T> {
  const otel = tracingApi();
  if (!otel) return run(() => undefined);
  const published = contextOfHeaders(otel, message.headers);
  const publishedSpan = published ? otel.trace.getSpanContext(published) : undefined;
  const active = (delivered as ReturnType<typeof otel.context.active> | undefined) ?? otel.context.active();
  const activeSpan = otel.trace.getSpanContext(active);
  const parent =
    published && !(activeSpan && activeSpan.traceId === publishedSpan?.traceId) ? published : active;
  const destination = message.destination;
  const span = busTracer(otel).startSpan(
    destination ? `process ${destination.name}` : 'process',
    {
      kind: otel.SpanKind.CONSUMER,
      links: publishedSpan ? [{ context: publishedSpan }] : [],
      attributes: {
        'messaging.system': destination?.system ?? MESSAGING_SYSTEM,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': destination?.name,
        'messaging.message.id': message.messageId ?? undefined,
        'messaging.message.body.size': message.body.byteLength,
        'integration_bus.connector': connectorName,
        'integration_bus.direction': 'incoming',
      },
    },
    parent,
  );
  const failed = (error: unknown): void => {
    span.setAttribute('error.type', errorTypeOf(error));
    span.setStatus({
      code: otel.SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
  };
  try {
    return await otel.context.with(otel.trace.setSpan(parent, span), () => run(failed));
  } catch (error) {
    failed(error);
    throw error;
  } finally {
    span.end();
  }
}
