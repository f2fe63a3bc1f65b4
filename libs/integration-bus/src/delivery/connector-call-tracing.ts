import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ConnectorCallHook, type ConnectorCall, type ConnectorCallObserver } from './connector-call-hook.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { busTracer, MESSAGING_SYSTEM, parseTraceParent, tracingApi } from '../events/trace-context.js';

const R = IntegrationProcessResult;

/**
 * A `process {connector}` span (CONSUMER, the messaging semantic conventions) around each
 * connector call, made the active context while the handler runs, so that the spans the handler
 * starts (an HTTP call, a broker publish) are its children.
 *
 * Its parent: for a queued task, the `create` span of the task (its stored `traceparent`, also
 * given as a link), so that one trace runs from the request that changed the entity to every
 * delivery of the change, retries included; a queued task logged outside any trace starts a trace
 * of its own, never the one of whatever request happened to start the run. A synchronous call runs
 * inside the caller's flush and is a child of the caller's active span.
 *
 * An Error or ErrorAndSkip result, or an interrupted call, marks the span as failed, with
 * `error.type`. Inactive, at the cost of one cached check per call, until a tracer provider is
 * registered.
 */
@Injectable()
export class ConnectorCallTracing implements OnModuleInit {
  constructor(private readonly calls: ConnectorCallHook) {}

  onModuleInit(): void {
    this.calls.watch({ enabled: () => tracingApi() !== null, started: (call) => this.started(call) });
  }

  private started(call: ConnectorCall): ConnectorCallObserver | undefined {
    const otel = tracingApi();
    if (!otel) return undefined;
    const created = call.synchronous ? null : parseTraceParent(otel, call.traceParent);
    const parent = call.synchronous
      ? otel.context.active()
      : created
        ? otel.trace.setSpanContext(otel.ROOT_CONTEXT, created)
        : otel.ROOT_CONTEXT;
    const connector = call.connector.codeName;
    const span = busTracer(otel).startSpan(
      `process ${connector}`,
      {
        kind: otel.SpanKind.CONSUMER,
        links: created ? [{ context: created }] : [],
        attributes: {
          'messaging.system': MESSAGING_SYSTEM,
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          // The connector's queue is what the task is consumed from.
          'messaging.destination.name': connector,
          'messaging.consumer.group.name': connector,
          'messaging.message.id': call.guid,
          'integration_bus.task.id': call.synchronous ? undefined : call.taskId,
          'integration_bus.direction': call.direction,
          'integration_bus.attempt': call.attempt,
        },
      },
      parent,
    );
    const active = otel.trace.setSpan(parent, span);
    return {
      run: (fn) => otel.context.with(active, fn),
      ended: (end) => {
        const result = end.interrupted ? 'INTERRUPTED' : end.result;
        span.setAttribute('integration_bus.result', result);
        if (end.interrupted || end.result === R.Error || end.result === R.ErrorAndSkip) {
          span.setAttribute('error.type', result);
          span.setStatus({ code: otel.SpanStatusCode.ERROR, message: end.errorMessage ?? result });
        }
        span.end();
      },
    };
  }
}
