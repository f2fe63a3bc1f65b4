import type * as OpenTelemetry from '@opentelemetry/api';
import { formatTraceParent, parseTraceParent } from './trace-context.js';

/*
 * Trace context in message headers (R-ECO-2, R-ECO-4), through the propagator the host's SDK
 * registered (W3C `traceparent`/`tracestate` by default, B3 or others when configured), so that the
 * bus's messages read and write the same headers as the official instrumentations beside it. When
 * no propagator is registered (the API's no-op one), the W3C `traceparent` is written and read by
 * hand: a trace still crosses the broker.
 */

type Api = typeof OpenTelemetry;

/** Reads header names without regard to case: brokers and clients differ in how they spell them. */
const HEADER_GETTER: OpenTelemetry.TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => headerValue(carrier, key),
};

function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/**
 * The trace headers of `context` (its active span): what the global propagator writes, else a
 * W3C `traceparent`; empty when the context holds no valid span.
 */
export function traceHeadersOfContext(otel: Api, context: OpenTelemetry.Context): Record<string, string> {
  const headers: Record<string, string> = {};
  otel.propagation.inject(context, headers);
  const span = otel.trace.getSpanContext(context);
  if (headerValue(headers, 'traceparent') === undefined && span && otel.isSpanContextValid(span)) {
    headers.traceparent = formatTraceParent(span);
  }
  return headers;
}

/**
 * The context a message's headers carry (the publisher's span as a remote parent, with its
 * baggage when the propagator reads it), or null when they carry none.
 */
export function contextOfHeaders(
  otel: Api,
  headers: Readonly<Record<string, string>>,
): OpenTelemetry.Context | null {
  const extracted = otel.propagation.extract(otel.ROOT_CONTEXT, headers, HEADER_GETTER);
  const span = otel.trace.getSpanContext(extracted);
  if (span && otel.isSpanContextValid(span)) return extracted;
  const parsed = parseTraceParent(otel, headerValue(headers, 'traceparent'));
  return parsed ? otel.trace.setSpanContext(otel.ROOT_CONTEXT, parsed) : null;
}

/** `error.type` of a failed operation: the error's `code` when it has a textual one, else its class. */
export function errorTypeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name !== '') return name;
  }
  return '_OTHER';
}
