import { context, propagation, trace, type SpanContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';

/*
 * The official OpenTelemetry SDK for tests, set up as a host's tracing file would: the tracer
 * provider of `@opentelemetry/sdk-trace` (3.x, the line that accepts `@opentelemetry/api` 1.10; the
 * 2.x `sdk-trace-base` wants < 1.10) exporting to its `InMemorySpanExporter`, the AsyncLocalStorage
 * context manager of `@opentelemetry/context-async-hooks`, and the W3C trace-context propagator.
 */

/** The SDK registered globally, its finished spans, and how to unregister it. */
export interface OfficialSdk {
  provider: TracerProvider;
  exporter: InMemorySpanExporter;
  /** Spans ended so far. */
  spans(): ReadableSpan[];
  /** Ended spans with this name. */
  named(name: string): ReadableSpan[];
  /** Unregisters the provider, context manager and propagator. */
  stop(): Promise<void>;
}

/** Registers the official SDK as the global provider, context manager and propagator. */
export function registerOfficialSdk(): OfficialSdk {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return {
    provider,
    exporter,
    spans: () => exporter.getFinishedSpans(),
    named: (name) => exporter.getFinishedSpans().filter((s) => s.name === name),
    stop: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** The span's parent span id, or undefined for a root span. */
export function parentIdOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** A span's W3C `traceparent`, as the bus stores it. */
export function traceParentOf(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.traceFlags.toString(16).padStart(2, '0')}`;
}
