import { createRequire } from 'node:module';
import type * as OpenTelemetry from '@opentelemetry/api';

/*
 * OpenTelemetry for the bus (R-ECO-4), with `@opentelemetry/api` as an optional peer: loaded with
 * `require` on first use, never bundled, and no SDK here. When the package is missing, or no tracer
 * provider is registered, `tracingActive()` is false and the callers skip everything, so logging
 * and processing pay one cached check.
 */

type Api = typeof OpenTelemetry;

/** `messaging.system` of the bus's spans (the messaging semantic conventions). */
export const MESSAGING_SYSTEM = 'integration_bus';

const TRACER_NAME = 'nestjs-integration-bus';
/** The package's version, the tracer's (its instrumentation scope): `../../package.json` from src/ and dist/ alike. */
const TRACER_VERSION = packageVersion();
/** How long the answer of `tracingActive` is kept: a provider registered later is seen this soon. */
const RECHECK_MS = 1000;

let api: Api | null | undefined;
let active = false;
let checkedAt = -Infinity;

function loadApi(): Api | null {
  if (api === undefined) {
    try {
      api = createRequire(import.meta.url)('@opentelemetry/api') as Api;
    } catch {
      api = null; // not installed: tracing is off
    }
  }
  return api;
}

/** The API when a tracer provider is registered, else null. Checked at most once a second. */
export function tracingApi(): Api | null {
  const now = performance.now();
  if (now - checkedAt >= RECHECK_MS) {
    checkedAt = now;
    const otel = loadApi();
    active = otel !== null && providerRegistered(otel);
  }
  return active ? api! : null;
}

/** Whether spans would go anywhere: the global provider is not the API's no-op one. */
function providerRegistered(otel: Api): boolean {
  const provider = otel.trace.getTracerProvider();
  if (!(provider instanceof otel.ProxyTracerProvider)) return true;
  // A proxy without a delegate answers with the API's no-op provider, the same object for every proxy.
  return provider.getDelegate() !== new otel.ProxyTracerProvider().getDelegate();
}

/** The bus's tracer, versioned: `nestjs-integration-bus` at the package's version. */
export function busTracer(otel: Api): OpenTelemetry.Tracer {
  return otel.trace.getTracer(TRACER_NAME, TRACER_VERSION);
}

function packageVersion(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url)('../../package.json') as {
      name?: string;
      version?: string;
    };
    return manifest.name === TRACER_NAME ? manifest.version : undefined;
  } catch {
    return undefined; // bundled without its package.json: an unversioned tracer
  }
}

/** The W3C `traceparent` of a span context: `00-<trace id>-<span id>-<flags>`. */
export function formatTraceParent(context: OpenTelemetry.SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.traceFlags.toString(16).padStart(2, '0')}`;
}

const TRACE_PARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The span context of a stored `traceparent`, or null when it is absent or malformed. */
export function parseTraceParent(
  otel: Api,
  value: string | null | undefined,
): OpenTelemetry.SpanContext | null {
  const match = value ? TRACE_PARENT.exec(value) : null;
  if (!match) return null;
  const context = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: parseInt(match[3]!, 16),
    isRemote: true,
  };
  return otel.isSpanContextValid(context) ? context : null;
}

/** What `traceTaskCreation` needs of a task about to be inserted. */
export interface TracedTask {
  guid: string;
  objectType: string;
  taskType: string;
  isInbound: boolean;
  traceParent?: string;
}

/**
 * The `create` span of each task about to be logged, a child of the caller's active span (the
 * HTTP request that changed the entity, say): a PRODUCER span named `create {object type}`, ended
 * at once, whose context is stored with the task (`traceParent`) in the same transaction. Does
 * nothing, and allocates nothing, without a registered tracer provider.
 */
export function traceTaskCreation(tasks: readonly TracedTask[]): void {
  const otel = tasks.length > 0 ? tracingApi() : null;
  if (!otel) return;
  const tracer = busTracer(otel);
  for (const task of tasks) {
    const span = tracer.startSpan(`create ${task.objectType}`, {
      kind: otel.SpanKind.PRODUCER,
      attributes: {
        'messaging.system': MESSAGING_SYSTEM,
        'messaging.operation.type': 'create',
        'messaging.operation.name': 'create',
        'messaging.destination.name': task.objectType,
        'messaging.message.id': task.guid,
        'integration_bus.task.type': task.taskType,
        'integration_bus.direction': task.isInbound ? 'incoming' : 'outgoing',
      },
    });
    const context = span.spanContext();
    if (otel.isSpanContextValid(context)) task.traceParent = formatTraceParent(context);
    span.end();
  }
}
