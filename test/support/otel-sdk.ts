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

/**
 * Each span of `chain` with its trace and parent, to compare with `asChain(chain)`: one trace, each
 * span the child of the one before.
 */
export function linksOf(chain: readonly ReadableSpan[]): { span: string; trace: string; parent?: string }[] {
  return chain.map((span) => ({
    span: span.name,
    trace: span.spanContext().traceId,
    parent: parentIdOf(span),
  }));
}

/** What `linksOf(chain)` is when the spans form one chain in one trace under the first one's parent. */
export function asChain(chain: readonly ReadableSpan[]): { span: string; trace: string; parent?: string }[] {
  return chain.map((span, i) => ({
    span: span.name,
    trace: chain[0]!.spanContext().traceId,
    parent: i === 0 ? parentIdOf(span) : chain[i - 1]!.spanContext().spanId,
  }));
}

/** The span's parent span id, or undefined for a root span. */
export function parentIdOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** A span's W3C `traceparent`, as the bus stores it. */
export function traceParentOf(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-${span.traceFlags.toString(16).padStart(2, '0')}`;
}
