import { Injectable, type OnModuleInit } from '@nestjs/common';
import {
  ConnectorCallHook,
  type ConnectorCall,
  type ConnectorCallEnd,
  type ConnectorCallWatcher,
} from './connector-call-hook.js';
import { IntegrationProcessResult } from '../enums/integration-process-result.enum.js';
import { busTracer, MESSAGING_SYSTEM, parseTraceParent, tracingApi } from '../events/trace-context.js';

/**
 * A `process {connector}` span (CONSUMER, the messaging semantic conventions) around each
 * connector call, linked to the `create` span of the task it delivers (its stored `traceparent`).
 * An Error result marks the span as failed; an interrupted call is recorded as such. Inactive, at
 * the cost of one cached check per call, until a tracer provider is registered.
 */
@Injectable()
export class ConnectorCallTracing implements ConnectorCallWatcher, OnModuleInit {
  constructor(private readonly calls: ConnectorCallHook) {}

  onModuleInit(): void {
    this.calls.watch(this);
  }

  enabled(): boolean {
    return tracingApi() !== null;
  }

  started(call: ConnectorCall): ((end: ConnectorCallEnd) => void) | undefined {
    const otel = tracingApi();
    if (!otel) return undefined;
    const created = parseTraceParent(otel, call.traceParent);
    const span = busTracer(otel).startSpan(`process ${call.connector.codeName}`, {
      // A queued task is processed in a run that may serve many requests' tasks: a trace of its
      // own, linked to the task's create span. A synchronous call runs inside the caller's flush
      // and belongs to its trace.
      root: !call.synchronous,
      kind: otel.SpanKind.CONSUMER,
      links: created ? [{ context: created }] : [],
      attributes: {
        'messaging.system': MESSAGING_SYSTEM,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.consumer.group.name': call.connector.codeName,
        'messaging.message.id': call.guid,
        'integration_bus.task.id': call.synchronous ? undefined : call.taskId,
        'integration_bus.direction': call.direction,
        'integration_bus.attempt': call.attempt,
      },
    });
    return (end) => {
      span.setAttribute('integration_bus.result', end.interrupted ? 'INTERRUPTED' : end.result);
      if (end.interrupted || end.result === IntegrationProcessResult.Error) {
        span.setStatus({ code: otel.SpanStatusCode.ERROR, message: end.errorMessage ?? end.result });
      }
      span.end();
    };
  }
}
